"""Translating verified webhook bodies into ProviderEvents, shared by the provider adapters.

A signature problem is `functions.payments.signatures.InvalidSignature`; a body that IS genuinely
signed but does not carry what its type needs (a final event without a payment id, a non-integer
amount...) is a `MalformedEvent`. Both change nothing; the difference only tells the operator
whether to look at the secrets or at the provider's payload.
"""

from __future__ import annotations

from typing import Any

from functions.payments.providers import FINAL_EVENT_TYPES, ProviderEvent


class MalformedEvent(ValueError):
    """The webhook is genuine (its signature verified) but its body is not an event we can read."""


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} is not a JSON object")
    return value


def optional_str(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{what} is not a non-empty string")
    return value


def optional_amount(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedEvent(f"{what} is not a non-negative integer (minor units)")
    return value


def optional_currency(value: Any, what: str) -> str | None:
    currency = optional_str(value, what)
    if currency is None:
        return None
    if len(currency) != 3 or not currency.isalpha():
        raise MalformedEvent(f"{what} is not an ISO 4217 code")
    return currency.upper()


def standard_event(event_id: str, event: dict[str, Any]) -> ProviderEvent:
    """`{"type", "data": {"payment_id", "amount", "currency"}}` (api-contract "Payments") as a
    ProviderEvent. A final type needs all three data fields; any other type is passed through (not
    final: acknowledged and ignored) with whatever of them it has."""
    event_type = optional_str(event.get("type"), "type")
    if event_type is None:
        raise MalformedEvent("type is missing")
    data = require_object(event.get("data", {}), "data")
    result = ProviderEvent(
        event_id=event_id,
        type=event_type,
        payment_id=optional_str(data.get("payment_id"), "data.payment_id"),
        amount=optional_amount(data.get("amount"), "data.amount"),
        currency=optional_currency(data.get("currency"), "data.currency"),
    )
    if event_type in FINAL_EVENT_TYPES and None in (result.payment_id, result.amount, result.currency):
        raise MalformedEvent(f"{event_type} needs data.payment_id, data.amount and data.currency")
    return result
