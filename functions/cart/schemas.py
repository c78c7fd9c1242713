"""Request bodies of the cart endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.cart.carts import MAX_LINE_QUANTITY
from functions.catalog.api import SkuId

Quantity = Field(ge=1, le=MAX_LINE_QUANTITY, strict=True, description=f"1..{MAX_LINE_QUANTITY}")


class AddItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku_id: SkuId
    quantity: int = Quantity


class UpdateItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Quantity
