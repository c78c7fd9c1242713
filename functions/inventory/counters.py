"""A SKU's stock counters as sellers see and set them (GET/PUT /inventory/{sku_id})."""

from __future__ import annotations

import os
import time
from typing import Any

from functions.catalog.api import SkuInfo
from functions.catalog.api import lookup_skus as lookup
from functions.inventory.ledger import entry_item, initial_stock_items
from functions.inventory.store import stock_key
from shared import transactions
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ServiceUnavailable
from shared.tables import connection

MAX_ATTEMPTS = 8
BUSY = "The stock is very busy right now; try again."


def _table() -> str:
    return os.environ["INVENTORY_TABLE_NAME"]


def owned_sku(sku_id: str, principal: Principal) -> SkuInfo:
    """The SKU if the caller sells it (or is an admin); anyone else's SKU looks missing."""
    info = lookup([sku_id], consistent=True).get(sku_id)  # decides: the seller's new product is theirs at once
    if info is None or (info.seller_id != principal.user_id and not principal.is_admin):
        raise NotFound("No such SKU.")
    return info


def read_stock(sku_id: str) -> dict[str, Any]:
    """The SKU's counters, summed over its buckets (one exact snapshot when bucketed)."""
    from functions.inventory.buckets import snapshot

    layout = snapshot([sku_id])[sku_id]
    if not layout.exists:
        return {"sku_id": sku_id, "on_hand": 0, "reserved": 0, "available": 0, "buckets": 1}
    return {
        "sku_id": sku_id,
        "on_hand": layout.on_hand,
        "reserved": layout.reserved,
        "available": layout.available,
        "buckets": layout.active,
    }


def set_stock(info: SkuInfo, on_hand: int | None, buckets: int | None) -> dict[str, Any]:
    """PUT /inventory: set on_hand, the bucket count (ADR 0022), or both, in one transaction per
    SKU. An unbucketed SKU's on_hand keeps its one-item path; anything touching buckets goes
    through `buckets.redistribute` (every bucket at the version read, a ledger entry per bucket)."""
    from functions.inventory import buckets as stock_buckets

    if buckets is None:
        layout = stock_buckets.snapshot([info.sku_id])[info.sku_id]
        if not layout.bucketed:
            return set_on_hand(info, on_hand if on_hand is not None else layout.on_hand)
    elif not stock_buckets.snapshot([info.sku_id])[info.sku_id].exists:
        set_on_hand(info, on_hand or 0)
    stock_buckets.redistribute(info.sku_id, on_hand=on_hand, buckets=buckets)
    return read_stock(info.sku_id)


def set_on_hand(info: SkuInfo, on_hand: int) -> dict[str, Any]:
    """Set the absolute on-hand count; `available` follows; never below what is reserved.

    Optimistic: the update applies only to the on-hand value read (so the ledger's delta is
    exact); a concurrent change re-reads and retries.
    """
    table = _table()
    for _ in range(MAX_ATTEMPTS):
        current = connection().client.get_item(TableName=table, Key=stock_key(info.sku_id), ConsistentRead=True).get("Item")
        try:
            if current is None:
                transactions.write(initial_stock_items(table, info.sku_id, on_hand, info.product_id, info.seller_id),
                                   on_condition_failed=transactions.ConditionFailed, busy_message=BUSY)
            else:
                old = int(current["on_hand"]["N"])
                reserved = int(current["reserved"]["N"])
                if on_hand < reserved:
                    raise Conflict(
                        "On-hand stock cannot go below what shoppers have reserved.",
                        {"sku_id": info.sku_id, "requested": on_hand, "reserved": reserved},
                    )
                if on_hand == old:
                    return read_stock(info.sku_id)
                transactions.write([
                    {"Update": {
                        "TableName": table,
                        "Key": stock_key(info.sku_id),
                        "UpdateExpression": "SET on_hand = :new, available = :new - reserved, version = version + :one, updated_at = :now",
                        "ConditionExpression": "on_hand = :old AND reserved <= :new",
                        "ExpressionAttributeValues": {
                            ":new": {"N": str(on_hand)}, ":old": {"N": str(old)}, ":one": {"N": "1"},
                            ":now": {"N": str(int(time.time() * 1000))},
                        },
                    }},
                    entry_item(table, info.sku_id, "adjust" if on_hand < old else "restock", on_hand_delta=on_hand - old),
                ], on_condition_failed=transactions.ConditionFailed, busy_message=BUSY)
            return read_stock(info.sku_id)
        except transactions.ConditionFailed:
            continue  # changed meanwhile (a reservation, another seller's edit): read again
    raise ServiceUnavailable(BUSY)
