"""The stock ledger: every movement of a SKU's counters is an item written in the SAME
transaction as the counters, so the ledger always reconciles:

    sum(on_hand_delta) == on_hand      sum(reserved_delta) == reserved

Kinds: restock (initial or added stock), adjust (an absolute on-hand set), reserve / release
(a hold grows / shrinks or ends), commit (a hold becomes a sale: on_hand and reserved both
drop), expire (a hold released after its expiry), transfer (a hold moved to another holder),
return (a cancelled order's sold stock back on hand; LEDGER#RETURN#<order>#<sku>, put once),
rebalance (stock moved between a hot SKU's buckets, ADR 0022: one entry per bucket, summing to 0).

Every entry names the bucket it moved (`bucket`, absent = 0), so the ledger reconciles per
bucket as well as in total.
"""

from __future__ import annotations

import time
from typing import Any

from functions.inventory.store import LEDGER_SK_PREFIX, hold_end_key, sku_pk, stock_key
from shared.ids import new_id


def entry_item(
    table: str,
    sku_id: str,
    kind: str,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    holder_id: str = "",
    hold_id: str = "",
    end_of_hold: bool = False,
    bucket: int = 0,
) -> dict[str, Any]:
    """A TransactItems Put of one ledger entry. An entry that ends a hold has the key
    LEDGER#END#<hold_id> and is put only if absent: a hold ends exactly once."""
    key = hold_end_key(sku_id, hold_id) if end_of_hold else {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": f"{LEDGER_SK_PREFIX}{new_id()}"}}
    item = {
        **key,
        "kind": {"S": kind},
        "sku_id": {"S": sku_id},
        "on_hand_delta": {"N": str(on_hand_delta)},
        "reserved_delta": {"N": str(reserved_delta)},
        "at": {"N": str(int(time.time() * 1000))},
    }
    if bucket:
        item["bucket"] = {"N": str(bucket)}
    if holder_id:
        item["holder_id"] = {"S": holder_id}
    if hold_id:
        item["hold_id"] = {"S": hold_id}
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if end_of_hold:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


def initial_stock_items(table: str, sku_id: str, on_hand: int, product_id: str, seller_id: str) -> list[dict[str, Any]]:
    """Create a SKU's stock record (only if it has none) with its opening ledger entry."""
    now = str(int(time.time() * 1000))
    stock = {
        **stock_key(sku_id),
        "sku_id": {"S": sku_id},
        "on_hand": {"N": str(on_hand)},
        "reserved": {"N": "0"},
        "available": {"N": str(on_hand)},
        "version": {"N": "1"},
        "updated_at": {"N": now},
    }
    if product_id:
        stock["product_id"] = {"S": product_id}
    if seller_id:
        stock["seller_id"] = {"S": seller_id}
    items = [{"Put": {"TableName": table, "Item": stock, "ConditionExpression": "attribute_not_exists(pk)"}}]
    if on_hand:
        items.append(entry_item(table, sku_id, "restock", on_hand_delta=on_hand))
    return items
