"""Stock per SKU for readers: levels in ONE BatchGetItem for any number of SKUs (never one call per
SKU), the product a SKU's stock names, and the opening stock that tests and benchmarks set.

A hot SKU's stock item is bucket 0 of several (ADR 0022): its figures are the sum over its
buckets (a second BatchGetItem for the bucketed SKUs only), its version the sum of theirs.
"""

from __future__ import annotations

from functions.inventory import store
from functions.inventory.store.ops import Cancelled, CreateStock, Ledger, Op


def stock_levels(sku_ids: list[str], *, consistent: bool = True) -> dict[str, tuple[int, int]]:
    """{sku_id: (available, version)} for the asked SKUs that HAVE a stock item (one BatchGetItem
    per 100 SKUs). A SKU without one is absent, not (0, 0): its first stock record (version 1,
    or 0 for items written before versions existed) must still count as newer than "nothing".

    For copies that keep the newest version per SKU (the search index's stock fields): a strongly
    consistent read by default, so nothing committed before the read can be missing from it.
    """
    levels = store.current().levels(sku_ids, consistent=consistent)
    return {sku: (max(0, available), version) for sku, (available, version) in levels.items()}


def product_of_sku(sku_id: str) -> str:
    """The product a SKU's stock item names ("" if none)."""
    return store.current().product_of(sku_id)


def opening_stock(sku_id: str, on_hand: int, product_id: str = "", seller_id: str = "") -> list[Op]:
    """A SKU's stock item (only if it has none) and, with units, its opening ledger entry."""
    ops: list[Op] = [CreateStock(sku_id, on_hand, product_id, seller_id)]
    if on_hand:
        ops.append(Ledger(sku_id, "restock", on_hand_delta=on_hand))
    return ops


def set_initial_stock(sku_id: str, on_hand: int, product_id: str = "", seller_id: str = "") -> bool:
    """Create a SKU's stock record (with its opening ledger entry) if it has none; False if it
    had one. For tests and benchmarks that set stock without a seller's token; the API's path is
    PUT /inventory (functions/inventory/counters.py)."""
    try:
        store.current().transact(opening_stock(sku_id, on_hand, product_id, seller_id))
    except Cancelled:
        return False  # the only condition: the stock record does not exist yet
    return True
