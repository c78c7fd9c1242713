"""What the inventory service offers other services. The only module of functions/inventory/
another service may import (.importlinter); the inventory itself imports no other service.

Holds (the cart and checkout)
  HoldChange(holder_id, sku_id, quantity, expires_at=0, end_kind="release", only_if_held=False, requested=None)
  apply_holds(changes, also=None) -> {(holder_id, sku_id): Hold | None}
                        the holds changed in ONE transaction with the caller's own items `also`;
                        raises OutOfStock (nothing changed), or ConcurrentChange when `also` failed
  get_holds(holder_id, sku_ids) -> {sku_id: Hold}
  reservation_ttl_seconds() -> int          how long a hold lasts
  admission(sku_id, quantity)               context manager: the admission gate sheds a sold-out
                                            SKU (OutOfStock) before any DynamoDB call
Orders (checkout's saga and settler)
  OrderLine(sku_id, quantity)
  hold_for_order(cart_id, order_id, lines, expires_at, also=None) -> {sku_id: hold_id}
  commit_order(order_id, lines, hold_ids, order_check) -> None
  return_order_stock(order_id, lines, hold_ids) -> None
Availability (pages, search)
  availability(sku_ids) -> {sku_id: {"in_stock": bool, "available": int}}   cache, else one read
  stock_levels(sku_ids, *, consistent=True) -> {sku_id: (available, version)}   SKUs with stock only
  product_of_sku(sku_id) -> str             the product a SKU's stock item names
  bucket_of(sk) -> int | None               which stock bucket an inventory stream record's sort key is
Owners (the catalog: ADR 0040)
  register_skus(product_id, seller_id, sku_ids) -> None   before the catalog lists new SKUs
  retire_skus(product_id, seller_id, sku_ids) -> None     when it deletes their product
"""

from __future__ import annotations

from functions.inventory.availability import availability
from functions.inventory.gate import admission
from functions.inventory.holds import ConcurrentChange, Hold, HoldChange, get_holds, reservation_ttl_seconds
from functions.inventory.holds import apply as apply_holds
from functions.inventory.orders import OrderLine, commit_order, hold_for_order, return_order_stock
from functions.inventory.owners import register_skus, retire_skus
from functions.inventory.stock import product_of_sku, stock_levels
from functions.inventory.store.keys import bucket_of

__all__ = [
    "ConcurrentChange", "Hold", "HoldChange", "OrderLine", "admission", "apply_holds", "availability", "bucket_of", "commit_order",
    "get_holds", "hold_for_order", "product_of_sku", "register_skus", "reservation_ttl_seconds", "retire_skus",
    "return_order_stock", "stock_levels",
]
