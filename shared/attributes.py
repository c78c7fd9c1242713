"""Plain Python values <-> DynamoDB attribute values, for code that uses the low-level client
(every store: ADR 0042, 0048)."""

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


# pynamodb's UTCDateTimeAttribute: a string, always UTC, microseconds, "+0000". Items written by
# a pynamodb model and by the low-level client read the same (no migration).
UTC_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+0000"


def to_utc_string(value: datetime) -> str:
    """`value` in pynamodb's UTCDateTimeAttribute format (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(UTC_DATETIME_FORMAT).zfill(31)


def from_utc_string(value: str) -> datetime:
    """An aware UTC datetime from pynamodb's UTCDateTimeAttribute format (as pynamodb parses it)."""
    text = value.zfill(31)
    if (len(text) != 31 or text[4] != "-" or text[7] != "-" or text[10] != "T" or text[13] != ":" or text[16] != ":"
            or text[19] != "." or text[26:] != "+0000"):
        raise ValueError(f"{value!r} is not in the format {UTC_DATETIME_FORMAT!r}")
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19]),
                    int(text[20:26]), UTC)  # fmt: skip
