"""Money is an integer number of minor units (cents) plus an ISO 4217 currency code. No floats."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StringConstraints

SUPPORTED_CURRENCIES = frozenset({"USD", "EUR", "GBP"})
MAX_AMOUNT = 100_000_000  # one million in major units: anything above is a typo, not a price

Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="Minor units (cents)")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^(USD|EUR|GBP)$")]


def line_total(unit_price: int, quantity: int) -> int:
    return unit_price * quantity


def format_amount(amount: int, currency: str) -> str:
    """For humans only (emails, logs): '24.99 USD'."""
    return f"{amount // 100}.{amount % 100:02d} {currency}"
