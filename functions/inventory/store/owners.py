"""Who sells a SKU: its owner record (sk=OWNER, ADR 0040), and the names on its stock item."""

from __future__ import annotations

import time
from typing import Any

from functions.inventory.store.keys import OWNER_SK, owner_key, stock_key
from functions.inventory.store.records import Owner
from functions.inventory.store.stock import batch_get
from shared import transactions

TRANSACTION_LIMIT = 100


def read(table: str, sku_id: str) -> tuple[Owner | None, Owner | None]:
    """(the SKU's owner record, the names on its stock item), each None when absent: ONE
    strongly consistent BatchGetItem of both items."""
    items = batch_get(table, [owner_key(sku_id), stock_key(sku_id)], True, "sk, product_id, seller_id, retired_at")
    record = stock = None
    for item in items:
        owner = Owner(sku_id, item.get("product_id", {}).get("S", ""), item.get("seller_id", {}).get("S", ""),
                      retired="retired_at" in item)
        if item["sk"]["S"] == OWNER_SK:
            record = owner
        else:
            stock = owner
    return record, stock


def register(table: str, product_id: str, seller_id: str, sku_ids: list[str]) -> bool:
    """Put the SKUs' owner records, each only if absent or already this owner's (a retry passes),
    in one transaction per 100. False when a SKU is registered to another product or seller."""
    now = str(int(time.time() * 1000))
    for start in range(0, len(sku_ids), TRANSACTION_LIMIT):
        puts = [{"Put": {
            "TableName": table,
            "Item": {**owner_key(sku_id), "sku_id": {"S": sku_id}, "product_id": {"S": product_id},
                     "seller_id": {"S": seller_id}, "registered_at": {"N": now}},
            "ConditionExpression": "attribute_not_exists(pk) OR (product_id = :p AND seller_id = :s AND attribute_not_exists(retired_at))",
            "ExpressionAttributeValues": {":p": {"S": product_id}, ":s": {"S": seller_id}},
        }} for sku_id in sku_ids[start : start + TRANSACTION_LIMIT]]
        try:
            transactions.write(puts, on_condition_failed=transactions.ConditionFailed)
        except transactions.ConditionFailed:
            return False
    return True


def retire(table: str, product_id: str, seller_id: str, sku_ids: list[str]) -> None:
    """Mark the SKUs' owner records retired (their product was deleted), writing the record if
    a SKU from before owner records has none; idempotent."""
    now = str(int(time.time() * 1000))
    for start in range(0, len(sku_ids), TRANSACTION_LIMIT):
        updates: list[dict[str, Any]] = [{"Update": {
            "TableName": table,
            "Key": owner_key(sku_id),
            "UpdateExpression": "SET sku_id = :k, product_id = if_not_exists(product_id, :p), "
                                "seller_id = if_not_exists(seller_id, :s), retired_at = if_not_exists(retired_at, :now)",
            "ExpressionAttributeValues": {":k": {"S": sku_id}, ":p": {"S": product_id}, ":s": {"S": seller_id}, ":now": {"N": now}},
        }} for sku_id in sku_ids[start : start + TRANSACTION_LIMIT]]
        transactions.write(updates)
