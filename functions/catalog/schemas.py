"""Request bodies of the product endpoints (products and their reviews)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from functions.catalog.skus import DEFAULT_MAX_PER_CART
from shared.money_fields import Amount, CurrencyCode

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


# Product attributes are schemaless (per product type) but bounded, so that a product at every
# limit at once (these, 5,000 characters of description, 50 SKUs with 5 options each, 10 images)
# fits DynamoDB's 400 KB item size even in 4-byte UTF-8 characters: at most ~210 KB of
# attributes (50 x (40 + 1,000) characters), ~310 KB in all (tests/catalog/test_products.py
# builds that product); ~80 KB in ASCII.
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_NAME = 40  # characters
MAX_ATTRIBUTE_TEXT = 1000  # characters of a text value
MAX_ATTRIBUTE_LIST = 10  # texts in a list value...
MAX_ATTRIBUTE_LIST_ITEM = 100  # ...of at most this many characters each
MAX_ATTRIBUTE_INT = 2**53 - 1  # exact in every JSON client, and within DynamoDB's 38 digits


def _encodable(value: str) -> str:
    """Refuse text that cannot be stored: a lone surrogate (e.g. "\\udb37", which JSON can
    carry) has no UTF-8 encoding, so DynamoDB's write would fail (a 500, not a 400)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _attribute_kind(value: Any) -> str | None:
    """Which kind of attribute value this is, so a bad one is reported against that kind only."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):  # a float is refused by `int` unless it is whole (e.g. 2.0)
        return "int"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return None


# Stripped, then at least one character: neither "" nor only whitespace.
AttributeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ATTRIBUTE_NAME), AfterValidator(_encodable)
]
AttributeText = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_TEXT), AfterValidator(_encodable)]
AttributeListItem = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_LIST_ITEM), AfterValidator(_encodable)]
AttributeValue = Annotated[
    Annotated[AttributeText, Tag("str")]
    | Annotated[int, Field(ge=-MAX_ATTRIBUTE_INT, le=MAX_ATTRIBUTE_INT), Tag("int")]
    | Annotated[bool, Tag("bool")]
    | Annotated[list[AttributeListItem], Field(max_length=MAX_ATTRIBUTE_LIST), Tag("list")],
    Discriminator(
        _attribute_kind,
        custom_error_type="attribute_value",
        custom_error_message="an attribute value is a text, an integer, true or false, or a list of texts",
    ),
]


def _distinct_attribute_names(value: Any) -> Any:
    """Names are stripped: refuse two that differ only in surrounding whitespace (one would be lost)."""
    if isinstance(value, dict):
        names = [name.strip() for name in value if isinstance(name, str)]
        if len(set(names)) != len(names):
            raise ValueError("two attribute names are the same once surrounding whitespace is removed")
    return value


Attributes = Annotated[
    dict[AttributeName, AttributeValue], Field(max_length=MAX_ATTRIBUTES), BeforeValidator(_distinct_attribute_names)
]
CategoryId = Annotated[str, StringConstraints(pattern=r"^cat_[0-9A-HJKMNP-TV-Z]{26}$")]
SkuId = Annotated[str, StringConstraints(pattern=r"^sku_[0-9A-HJKMNP-TV-Z]{30}$")]

MAX_SKUS = 50
# A seller lowers a SKU's `max_per_cart` for a flash sale, so a few carts cannot take the whole
# stock (docs/decisions/0025).
MaxPerCart = Annotated[int, Field(ge=1, le=DEFAULT_MAX_PER_CART, strict=True,
                                  description=f"units one cart may hold, 1..{DEFAULT_MAX_PER_CART} (default {DEFAULT_MAX_PER_CART})")]


class _Body(BaseModel):
    # Built when first used: a handler imports this module for one model (or a field type) and
    # builds only that one (it calls `model_rebuild()` at import), never its siblings.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class NewSku(_Body):
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=5)] = Field(default_factory=dict)
    price: Amount
    currency: CurrencyCode
    max_per_cart: MaxPerCart = DEFAULT_MAX_PER_CART


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
    attributes: Attributes = Field(default_factory=dict)
    images: Annotated[list[ImageUrl], Field(max_length=10)] = Field(default_factory=list)
    skus: Annotated[list[NewSku], Field(min_length=1, max_length=MAX_SKUS)]
    # A price of 0 is a typo unless the seller says the product is free (then every SKU is 0).
    free: bool = False

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
    max_per_cart: MaxPerCart | None = None  # None: keep the SKU's limit (a new SKU: the default)


class UpdateProductRequest(_Body):
    title: Text | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = None
    brand: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    category_id: CategoryId | None = None
    attributes: Attributes | None = None
    images: Annotated[list[ImageUrl], Field(max_length=10)] | None = None
    skus: Annotated[list[SkuChange], Field(min_length=1, max_length=MAX_SKUS)] | None = None
    free: bool | None = None
