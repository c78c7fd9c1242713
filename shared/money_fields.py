"""Money in request bodies: pydantic field types for an amount (minor units) and a currency.

Apart from shared/money.py so that code which only formats or adds up money (the notification
sender) does not import pydantic (~0.3x `import boto3` of a cold start).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StringConstraints

from shared.money import MAX_AMOUNT

Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="Minor units (cents)")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^(USD|EUR|GBP)$")]
