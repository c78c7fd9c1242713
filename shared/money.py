"""Money is an integer number of minor units (cents) plus an ISO 4217 currency code. No floats.

Its pydantic field types for request bodies are in shared/money_fields.py (this module stays free
of pydantic: the notification sender formats amounts and never validates a body)."""

from __future__ import annotations

SUPPORTED_CURRENCIES = frozenset({"USD", "EUR", "GBP"})
MAX_AMOUNT = 100_000_000  # one million in major units: anything above is a typo, not a price


def line_total(unit_price: int, quantity: int) -> int:
    return unit_price * quantity


def format_amount(amount: int, currency: str) -> str:
    """For humans only (emails, logs): '24.99 USD'."""
    return f"{amount // 100}.{amount % 100:02d} {currency}"
