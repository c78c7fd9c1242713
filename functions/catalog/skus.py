"""SKU ids and the catalog's read API for SKUs (the cart and checkout, through catalog.api).

A SKU id names its product: `sku_<product ULID><4 chars>` (e.g. `sku_01JC...XY3Z`), so finding a
SKU's product needs no lookup item and no index: one GetItem (or one BatchGetItem for a cart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.catalog import store
from shared.errors import ValidationError
from shared.ids import ULID_PATTERN, new_id

SKU_ID_PATTERN = re.compile(r"^sku_([0-9A-HJKMNP-TV-Z]{26})([0-9A-HJKMNP-TV-Z]{4})$")
# How many units of one SKU one cart may hold unless its seller set `max_per_cart` (Saleor's default).
DEFAULT_MAX_PER_CART = 50


def new_sku_id(product_id: str) -> str:
    ulid = product_id.removeprefix("prd_")
    assert ULID_PATTERN.match(ulid), product_id
    return f"sku_{ulid}{new_id()[-4:]}"  # a ULID's last 4 characters are random


class ZeroPrice(ValidationError):
    """A price of 0 on a product not marked free: far likelier a mistake than a gift."""

    code = "ZERO_PRICE"


def check_prices(prices: list[int], free: bool) -> None:
    """A free product's SKUs all cost 0; any other product's SKUs all cost more than 0.
    `prices` in the order of the request's `skus` (field errors name their index)."""
    if free:
        priced = [index for index, price in enumerate(prices) if price != 0]
        if priced:
            raise ValidationError(
                "A product marked free has a price of 0 on every SKU.",
                {"fields": [{"field": f"body.skus.{i}.price", "message": "must be 0 on a free product", "type": "invalid"} for i in priced]},
            )
        return
    zero = [index for index, price in enumerate(prices) if price == 0]
    if zero:
        raise ZeroPrice(
            'A price of 0 is only for products marked free ("free": true).',
            {"fields": [{"field": f"body.skus.{i}.price", "message": "0 on a product not marked free", "type": "zero_price"} for i in zero]},
        )


def product_id_of(sku_id: str) -> str | None:
    """The product a SKU id belongs to, or None if it is not a well-formed SKU id."""
    match = SKU_ID_PATTERN.match(sku_id or "")
    return f"prd_{match.group(1)}" if match else None


@dataclass(frozen=True)
class SkuInfo:
    sku_id: str
    product_id: str
    seller_id: str
    title: str
    options: dict[str, str]
    price: int
    currency: str
    image: str | None
    max_per_cart: int = DEFAULT_MAX_PER_CART  # units one cart may hold


def lookup(sku_ids: list[str], consistent: bool = False) -> dict[str, SkuInfo]:
    """The live SKUs among `sku_ids` (unknown, malformed, or of a deleted product: absent), read
    with ONE BatchGetItem per 100 products (functions/catalog/store/). Eventually consistent unless `consistent`: enough to
    price a cart (a price changed a moment ago is caught at checkout), with a miss confirmed
    consistently (below). The read that decides asks for consistency: the checkout's price (never
    an old one, ADR 0027)."""
    wanted: dict[str, set[str]] = {}
    for sku_id in sku_ids:
        product_id = product_id_of(sku_id)
        if product_id:
            wanted.setdefault(product_id, set()).add(sku_id)
    found = _read_skus(list(wanted), wanted, consistent)
    if not consistent:
        # A miss is confirmed by a consistent read before anyone is told "no such SKU": a product
        # created a moment ago may not be in an eventually consistent answer yet. Only unknown or
        # deleted SKUs pay the second read.
        missed = [product_id for product_id, skus in wanted.items() if not skus <= found.keys()]
        if missed:
            found.update(_read_skus(missed, wanted, consistent=True))
    return found


def _read_skus(product_ids: list[str], wanted: dict[str, set[str]], consistent: bool) -> dict[str, SkuInfo]:
    found: dict[str, SkuInfo] = {}
    for product in store.products(product_ids, consistent=consistent):
        found.update(_skus_of(product, wanted))
    return found


def _skus_of(product: store.Product, wanted: dict[str, set[str]]) -> dict[str, SkuInfo]:
    if product.status != "ACTIVE":
        return {}
    images = product.images or []
    result = {}
    for sku in product.skus or []:
        if sku.sku_id in wanted.get(product.product_id, ()):
            result[sku.sku_id] = SkuInfo(
                sku_id=sku.sku_id,
                product_id=product.product_id,
                seller_id=product.seller_id,
                title=product.title,
                options={str(k): str(v) for k, v in (sku.options or {}).items()},
                price=int(sku.price),
                currency=sku.currency,
                image=images[0] if images else None,
                max_per_cart=int(sku.max_per_cart or DEFAULT_MAX_PER_CART),
            )
    return result
