"""A SKU's stock counters as sellers see and set them (GET/PUT /inventory/{sku_id}); who may do
so is owners.py's answer, from the inventory's own items."""

from __future__ import annotations

from typing import Any

from functions.inventory import buckets as stock_buckets
from functions.inventory import store
from functions.inventory.owners import StockOwner
from functions.inventory.stock import opening_stock
from functions.inventory.store.ops import Cancelled, Ledger, SetOnHand, Throttled
from shared.errors import Conflict, ServiceUnavailable

MAX_ATTEMPTS = 8


def read_stock(sku_id: str) -> dict[str, Any]:
    """The SKU's counters, summed over its buckets (one exact snapshot when bucketed)."""
    layout = stock_buckets.snapshot([sku_id])[sku_id]
    if not layout.exists:
        return {"sku_id": sku_id, "on_hand": 0, "reserved": 0, "available": 0, "buckets": 1}
    return {
        "sku_id": sku_id,
        "on_hand": layout.on_hand,
        "reserved": layout.reserved,
        "available": layout.available,
        "buckets": layout.active,
    }


def set_stock(owner: StockOwner, on_hand: int | None, buckets: int | None) -> dict[str, Any]:
    """PUT /inventory: set on_hand, the bucket count (ADR 0022), or both, in one transaction per
    SKU. An unbucketed SKU's on_hand keeps its one-item path; anything touching buckets goes
    through `buckets.redistribute` (every bucket at the version read, a ledger entry per bucket)."""
    if buckets is None:
        layout = stock_buckets.snapshot([owner.sku_id])[owner.sku_id]
        if not layout.bucketed:
            return set_on_hand(owner, on_hand if on_hand is not None else layout.on_hand)
    elif not stock_buckets.snapshot([owner.sku_id])[owner.sku_id].exists:
        set_on_hand(owner, on_hand or 0)
    stock_buckets.redistribute(owner.sku_id, on_hand=on_hand, buckets=buckets)
    return read_stock(owner.sku_id)


def set_on_hand(owner: StockOwner, on_hand: int) -> dict[str, Any]:
    """Set the absolute on-hand count; `available` follows; never below what is reserved.

    Optimistic: the update applies only to the on-hand value read (so the ledger's delta is
    exact); a concurrent change re-reads and retries. A SKU's first stock item names its product
    and seller (what owners.py found).
    """
    table = store.current()
    for _ in range(MAX_ATTEMPTS):
        current = table.stock_layouts([owner.sku_id]).get(owner.sku_id)
        if current is None:
            ops = opening_stock(owner.sku_id, on_hand, owner.product_id, owner.seller_id)
        else:
            stock = current.buckets[0]
            if on_hand < stock.reserved:
                raise Conflict(
                    "On-hand stock cannot go below what shoppers have reserved.",
                    {"sku_id": owner.sku_id, "requested": on_hand, "reserved": stock.reserved},
                )
            if on_hand == stock.on_hand:
                return read_stock(owner.sku_id)
            ops = [SetOnHand(owner.sku_id, stock.on_hand, on_hand),
                   Ledger(owner.sku_id, "adjust" if on_hand < stock.on_hand else "restock", on_hand_delta=on_hand - stock.on_hand)]
        try:
            table.transact(ops)
        except (Cancelled, Throttled):
            continue  # changed meanwhile (a reservation, another seller's edit): read again
        return read_stock(owner.sku_id)
    raise ServiceUnavailable("The stock is very busy right now; try again.")
