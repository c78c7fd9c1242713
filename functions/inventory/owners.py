"""Who may see and set a SKU's stock: its seller (and admins), as the inventory's own items say
(docs/decisions/0040-inventory-owns-stock-ownership.md). The inventory asks no other service.

- The catalog registers a SKU's owner record (product, seller) through inventory.api BEFORE it
  writes the product that lists the SKU, so a SKU a seller can see is one the inventory knows;
  it retires the records when it deletes the product.
- A stock item names its product and seller: the first stock write copies them from the record.

A SKU's owner is its owner record's seller; without a record (SKUs from before records), the
seller its stock item names. A retired record, or neither, or another seller: 404, the SKU looks
missing. An admin may act on any SKU the inventory knows (a live record, or a stock item).
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.inventory import store
from shared.auth import Principal
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class StockOwner:
    """A SKU the caller may act on, and whose it is (what its stock item records)."""

    sku_id: str
    product_id: str
    seller_id: str


def owned_sku(sku_id: str, principal: Principal) -> StockOwner:
    """The SKU if the caller sells it (or is an admin); anyone else's SKU looks missing. One
    strongly consistent read of the SKU's owner record and stock item: a seller's new SKU is theirs at once."""
    record, stock = store.current().owners(sku_id)
    known = record if record is not None else stock
    if known is None or known.retired:
        raise NotFound("No such SKU.")
    if principal.is_admin or (known.seller_id and known.seller_id == principal.user_id):
        return StockOwner(sku_id, known.product_id, known.seller_id)
    raise NotFound("No such SKU.")


def register_skus(product_id: str, seller_id: str, sku_ids: list[str]) -> None:
    """Record that `seller_id` sells these SKUs of `product_id` (before the catalog lists them).
    Idempotent for the same owner; Conflict if a SKU is another product's or seller's."""
    if sku_ids and not store.current().register_owner(product_id, seller_id, list(dict.fromkeys(sku_ids))):
        raise Conflict("A SKU id is already registered to another product.", {"product_id": product_id})


def retire_skus(product_id: str, seller_id: str, sku_ids: list[str]) -> None:
    """The product was deleted: its SKUs' stock is nobody's to see or set any more (idempotent)."""
    if sku_ids:
        store.current().retire_owner(product_id, seller_id, list(dict.fromkeys(sku_ids)))
