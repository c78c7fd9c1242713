"""Stock per SKU, read in ONE BatchGetItem for any number of SKUs (never one call per SKU).

  stock   pk=SKU#<sku_id>  sk=STOCK   on_hand, reserved, available (available = on_hand - reserved)

A hot SKU's stock item is bucket 0 of several (ADR 0022): its figures are the sum over its
buckets (a second BatchGetItem for the bucketed SKUs only), its version the sum of theirs.
"""

from __future__ import annotations

import os
from typing import Any

from functions.inventory.store import stock_key
from shared import transactions
from shared.tables import connection

MAX_BATCH = 100  # BatchGetItem's limit per call


def _table() -> str:
    return os.environ["INVENTORY_TABLE_NAME"]


def availability(sku_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{sku_id: {"in_stock": bool, "available": int}} for every SKU asked (unknown SKUs: 0)."""
    result = {sku_id: {"in_stock": False, "available": 0} for sku_id in sku_ids}
    for sku_id, (available, _) in _levels(sku_ids, consistent=False).items():
        available = max(0, available)
        result[sku_id] = {"in_stock": available > 0, "available": available}
    return result


def stock_levels(sku_ids: list[str], *, consistent: bool = True) -> dict[str, tuple[int, int]]:
    """{sku_id: (available, version)} for the asked SKUs that HAVE a stock item (one BatchGetItem
    per 100 SKUs). A SKU without one is absent, not (0, 0): its first stock record (version 1,
    or 0 for items written before versions existed) must still count as newer than "nothing".

    For copies that keep the newest version per SKU (the search index's stock fields): a strongly
    consistent read by default, so nothing committed before the read can be missing from it.
    """
    return {sku: (max(0, available), version) for sku, (available, version) in _levels(sku_ids, consistent=consistent).items()}


def _levels(sku_ids: list[str], *, consistent: bool) -> dict[str, tuple[int, int]]:
    """(available, version) summed over each SKU's buckets."""
    from functions.inventory.store import bucket_key, bucket_of

    stock_keys = [{"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}} for sku in dict.fromkeys(sku_ids)]
    result: dict[str, tuple[int, int]] = {}
    bucket_keys: list[dict[str, Any]] = []
    for item in _batch_get(stock_keys, consistent, "pk, available, version, bucket_items"):
        sku = item["pk"]["S"].removeprefix("SKU#")
        result[sku] = (int(item.get("available", {}).get("N", "0")), int(item.get("version", {}).get("N", "0")))
        bucket_keys += [bucket_key(sku, index) for index in range(1, int(item.get("bucket_items", {}).get("N", "1")))]
    for item in _batch_get(bucket_keys, consistent, "pk, sk, available, version"):
        if bucket_of(item["sk"]["S"]) is None:
            continue
        sku = item["pk"]["S"].removeprefix("SKU#")
        available, version = result[sku]
        result[sku] = (available + int(item.get("available", {}).get("N", "0")),
                       version + int(item.get("version", {}).get("N", "0")))
    return result


def _batch_get(keys: list[dict[str, Any]], consistent: bool, projection: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_BATCH):
        request: dict[str, Any] = {_table(): {"Keys": keys[start : start + MAX_BATCH], "ConsistentRead": consistent,
                                              "ProjectionExpression": projection}}
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(_table(), []))
            request = response.get("UnprocessedKeys") or {}
    return found


def set_initial_stock(sku_id: str, on_hand: int, product_id: str = "", seller_id: str = "") -> bool:
    """Create a SKU's stock record (with its opening ledger entry) if it has none; False if it
    had one. For tests and benchmarks that set stock without a seller's token; the API's path is
    PUT /inventory (functions/inventory/counters.py)."""
    from functions.inventory.ledger import initial_stock_items

    try:
        transactions.write(initial_stock_items(_table(), sku_id, on_hand, product_id, seller_id),
                           on_condition_failed=transactions.ConditionFailed)
    except transactions.ConditionFailed:
        return False  # the only condition: the stock record does not exist yet
    return True


def product_of_sku(sku_id: str) -> str:
    """The product a SKU's stock item names ("" if none; a bucket item beyond 0 names none)."""
    item = connection().client.get_item(
        TableName=_table(), Key=stock_key(sku_id), ConsistentRead=True, ProjectionExpression="product_id",
    ).get("Item") or {}
    return item.get("product_id", {}).get("S", "")
