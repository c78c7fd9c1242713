"""A SKU's stock counters as sellers see and set them (GET/PUT /inventory/{sku_id})."""

from __future__ import annotations

import os
import time
from typing import Any

from functions.catalog.skus import SkuInfo, lookup
from functions.inventory.items import stock_key
from functions.inventory.ledger import entry_item, initial_stock_items
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ServiceUnavailable
from shared.tables import connection, error_code

MAX_ATTEMPTS = 8


def _table() -> str:
    return os.environ["INVENTORY_TABLE_NAME"]


def owned_sku(sku_id: str, principal: Principal) -> SkuInfo:
    """The SKU if the caller sells it (or is an admin); anyone else's SKU looks missing."""
    info = lookup([sku_id]).get(sku_id)
    if info is None or (info.seller_id != principal.user_id and not principal.is_admin):
        raise NotFound("No such SKU.")
    return info


def read_stock(sku_id: str) -> dict[str, Any]:
    response = connection().client.get_item(TableName=_table(), Key=stock_key(sku_id), ConsistentRead=True)
    item = response.get("Item")
    if not item:
        return {"sku_id": sku_id, "on_hand": 0, "reserved": 0, "available": 0}
    return {
        "sku_id": sku_id,
        "on_hand": int(item["on_hand"]["N"]),
        "reserved": int(item["reserved"]["N"]),
        "available": int(item["available"]["N"]),
    }


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
                connection().client.transact_write_items(
                    TransactItems=initial_stock_items(table, info.sku_id, on_hand, info.product_id, info.seller_id)
                )
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
                connection().client.transact_write_items(TransactItems=[
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
                ])
            return read_stock(info.sku_id)
        except Exception as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            continue  # changed meanwhile (a reservation, another seller's edit): read again
    raise ServiceUnavailable("The stock is very busy right now; try again.")
