"""Request bodies of the orders endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ShippingAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US")


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shipping_address: ShippingAddress


class ShipOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    carrier: str = Field(min_length=1, max_length=60)
    tracking_number: str = Field(min_length=1, max_length=100)
