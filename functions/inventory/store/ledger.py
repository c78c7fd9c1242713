"""The stock ledger's items: every movement of a SKU's counters is an item written in the SAME
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

from functions.inventory.store.keys import LEDGER_SK_PREFIX, sku_pk
from functions.inventory.store.ops import Ledger
from shared.ids import new_id


def entry_item(table: str, entry: Ledger) -> dict[str, Any]:
    """A TransactItems Put of one ledger entry. An entry with `once` has the key LEDGER#<once>
    (LEDGER#END#<hold_id>: a hold ends exactly once) and is put only if absent."""
    item = {
        "pk": {"S": sku_pk(entry.sku_id)},
        "sk": {"S": f"{LEDGER_SK_PREFIX}{entry.once or new_id()}"},
        "kind": {"S": entry.kind},
        "sku_id": {"S": entry.sku_id},
        "on_hand_delta": {"N": str(entry.on_hand_delta)},
        "reserved_delta": {"N": str(entry.reserved_delta)},
        "at": {"N": str(int(time.time() * 1000))},
    }
    if entry.bucket:
        item["bucket"] = {"N": str(entry.bucket)}
    if entry.holder_id:
        item["holder_id"] = {"S": entry.holder_id}
    if entry.hold_id:
        item["hold_id"] = {"S": entry.hold_id}
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if entry.once:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}
