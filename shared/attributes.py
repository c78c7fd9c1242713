"""Plain Python values <-> DynamoDB attribute values, for code that uses the low-level client
(transactions, conditional updates) rather than pynamodb models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_attr(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)


def to_item(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values of the non-None entries."""
    return {name: to_attr(value) for name, value in attributes.items() if value is not None}


def from_attrs(item: dict[str, Any]) -> dict[str, Any]:
    """A plain dict (whole numbers as int) from a DynamoDB item."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: _plain(deserializer.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value
