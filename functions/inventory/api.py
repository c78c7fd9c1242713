"""What the inventory service offers other services: stock holds for carts and orders, and
availability for pages and search.

The only module of functions/inventory/ another service may import (.importlinter).

  HoldChange, apply_holds, get_holds   a cart's holds, changed in ONE transaction with the
                                       caller's own writes (`also`); ConcurrentChange: retry
  reservation_ttl_seconds              how long a hold lasts
  admission                            the admission gate: sold-out SKUs shed before DynamoDB
  OrderLine, hold_for_order, commit_order, return_order_stock
                                       an order's holds: from the cart to sold, or back
  availability                         per-SKU availability for pages (cache, else one read)
  stock_levels                         (on_hand, reserved) per SKU, one BatchGetItem
  stock_key, bucket_of                 how the inventory stream's records are keyed (search's
                                       stock sync reads them)
"""

from __future__ import annotations

from functions.inventory.availability import availability
from functions.inventory.gate import admission
from functions.inventory.holds import ConcurrentChange, HoldChange, get_holds, reservation_ttl_seconds
from functions.inventory.holds import apply as apply_holds
from functions.inventory.orders import OrderLine, commit_order, hold_for_order, return_order_stock
from functions.inventory.stock import product_of_sku, stock_levels
from functions.inventory.store import bucket_of, stock_key

__all__ = [
    "ConcurrentChange", "HoldChange", "OrderLine", "admission", "apply_holds", "availability", "bucket_of", "commit_order",
    "get_holds", "hold_for_order", "product_of_sku", "reservation_ttl_seconds", "return_order_stock", "stock_key", "stock_levels",
]
