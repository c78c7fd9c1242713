"""Request bodies of the product endpoints."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.money import Amount, CurrencyCode

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9_]{0,29}$")]
OptionValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
def _image_url(value: str) -> str:
    """https only, except on the stage's own image CDN (plain http on the local stack)."""
    cdn = os.environ.get("IMAGES_CDN_URL", "")
    if value.startswith("https://") or (cdn and value.startswith(cdn.rstrip("/") + "/")):
        return value
    raise ValueError("image URLs must be https")


ImageUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{3,500}$"), AfterValidator(_image_url)]
AttributeValue = str | int | bool | list[str]
CategoryId = Annotated[str, StringConstraints(pattern=r"^cat_[0-9A-HJKMNP-TV-Z]{26}$")]
SkuId = Annotated[str, StringConstraints(pattern=r"^sku_[0-9A-HJKMNP-TV-Z]{30}$")]

MAX_SKUS = 50


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewSku(_Body):
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=5)] = Field(default_factory=dict)
    price: Amount
    currency: CurrencyCode


def _check_skus(skus: list[NewSku]) -> None:
    combos = [tuple(sorted(s.options.items())) for s in skus]
    if len(set(combos)) != len(combos):
        raise ValueError("two SKUs have the same options")
    if len({s.currency for s in skus}) > 1:
        raise ValueError("all SKUs of a product use one currency")


class CreateProductRequest(_Body):
    title: Text
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    brand: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    category_id: CategoryId
    attributes: Annotated[dict[Annotated[str, StringConstraints(max_length=40)], AttributeValue], Field(max_length=50)] = Field(default_factory=dict)
    images: Annotated[list[ImageUrl], Field(max_length=10)] = Field(default_factory=list)
    skus: Annotated[list[NewSku], Field(min_length=1, max_length=MAX_SKUS)]

    @model_validator(mode="after")
    def _skus_are_distinct(self) -> CreateProductRequest:
        _check_skus(self.skus)
        return self


class SkuChange(_Body):
    """An existing SKU's new price (by sku_id), or a new SKU (no sku_id: options required)."""

    sku_id: SkuId | None = None
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=5)] | None = None
    price: Amount
    currency: CurrencyCode


class UpdateProductRequest(_Body):
    title: Text | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = None
    brand: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    category_id: CategoryId | None = None
    attributes: Annotated[dict[Annotated[str, StringConstraints(max_length=40)], AttributeValue], Field(max_length=50)] | None = None
    images: Annotated[list[ImageUrl], Field(max_length=10)] | None = None
    skus: Annotated[list[SkuChange], Field(min_length=1, max_length=MAX_SKUS)] | None = None
