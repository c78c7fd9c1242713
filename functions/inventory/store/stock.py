"""Stock items and a hot SKU's buckets (ADR 0022): reads, and the items of the writes that move them.

Reads never go one call per SKU: BatchGetItem of the stock items (100 per call), and for bucketed
SKUs one TransactGetItems of all their buckets (an exact snapshot: every bucket at one instant).
"""

from __future__ import annotations

import time
from typing import Any

from functions.inventory.store.keys import HOT_SKUS_PK, bucket_key, bucket_of, stock_key
from functions.inventory.store.ops import CreateStock, MoveStock, PutBucket, SetOnHand, ShiftBucket
from functions.inventory.store.records import Bucket, Layout
from shared import transactions
from shared.tables import connection

MAX_BATCH = 100  # BatchGetItem's limit per call
TRANSACT_GET_LIMIT = 100
MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 0.02


# -- reading ------------------------------------------------------------------------------------


def batch_get(table: str, keys: list[dict[str, Any]], consistent: bool, projection: str | None = None) -> list[dict[str, Any]]:
    """The items that exist among `keys`, in one BatchGetItem per 100. A hot partition's throttling
    (ProvisionedThroughputExceeded, the whole request) is sent again with the one busy policy, then
    503; unprocessed keys (part of it) are asked again after a jittered back-off, as AWS advises."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_BATCH):
        request: dict[str, Any] = {table: {"Keys": keys[start : start + MAX_BATCH], "ConsistentRead": consistent}}
        if projection:
            request[table]["ProjectionExpression"] = projection
        rounds = 0
        while request:
            if rounds:
                transactions.back_off(rounds)
            response = transactions.retry_when_busy(
                lambda request=request: connection().client.batch_get_item(RequestItems=request),
                busy_message="The stock is very busy right now; try again.")
            found.extend(response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            rounds += 1
    return found


def levels(table: str, sku_ids: list[str], *, consistent: bool) -> dict[str, tuple[int, int]]:
    """{sku_id: (available, version)} summed over each SKU's buckets, for the SKUs that have a
    stock item (one BatchGetItem per 100 SKUs, and one more for the bucketed SKUs' buckets)."""
    stock_keys = [stock_key(sku) for sku in dict.fromkeys(sku_ids)]
    result: dict[str, tuple[int, int]] = {}
    bucket_keys: list[dict[str, Any]] = []
    for item in batch_get(table, stock_keys, consistent, "pk, available, version, bucket_items"):
        sku = item["pk"]["S"].removeprefix("SKU#")
        result[sku] = (int(item.get("available", {}).get("N", "0")), int(item.get("version", {}).get("N", "0")))
        bucket_keys += [bucket_key(sku, index) for index in range(1, int(item.get("bucket_items", {}).get("N", "1")))]
    for item in batch_get(table, bucket_keys, consistent, "pk, sk, available, version"):
        if bucket_of(item["sk"]["S"]) is None:
            continue
        sku = item["pk"]["S"].removeprefix("SKU#")
        available, version = result[sku]
        result[sku] = (available + int(item.get("available", {}).get("N", "0")),
                       version + int(item.get("version", {}).get("N", "0")))
    return result


def product_of(table: str, sku_id: str) -> str:
    """The product a SKU's stock item names ("" if none; a bucket item beyond 0 names none)."""
    item = connection().client.get_item(
        TableName=table, Key=stock_key(sku_id), ConsistentRead=True, ProjectionExpression="product_id",
    ).get("Item") or {}
    return item.get("product_id", {}).get("S", "")


def bucket_counts(item: dict[str, Any]) -> tuple[int, int]:
    """(active buckets, bucket items) recorded on a stock item (1, 1 for an unbucketed SKU)."""
    items = int(item.get("bucket_items", {}).get("N", "1"))
    return int(item.get("buckets", {}).get("N", "1")), max(1, items)


def _bucket(index: int, item: dict[str, Any]) -> Bucket:
    on_hand = int(item.get("on_hand", {}).get("N", "0"))
    reserved = int(item.get("reserved", {}).get("N", "0"))
    available = int(item["available"]["N"]) if "available" in item else on_hand - reserved
    return Bucket(index, on_hand, reserved, available, int(item.get("version", {}).get("N", "0")))


def layouts(table: str, sku_ids: list[str]) -> dict[str, Layout]:
    """Layouts of the SKUs that have a stock item, read consistently: an unbucketed SKU's is its
    stock item; a bucketed SKU's is read again, with its buckets, in one TransactGetItems."""
    result: dict[str, Layout] = {}
    bucketed: dict[str, tuple[int, int]] = {}
    for item in batch_get(table, [stock_key(sku) for sku in dict.fromkeys(sku_ids)], True):
        sku_id = item["pk"]["S"].removeprefix("SKU#")
        active, count = bucket_counts(item)
        if count > 1:
            bucketed[sku_id] = (active, count)
        else:
            result[sku_id] = Layout(sku_id, 1, (_bucket(0, item),))
    result.update(snapshot(table, list(bucketed), bucketed))
    return result


def snapshot(table: str, sku_ids: list[str], counts: dict[str, tuple[int, int]] | None = None) -> dict[str, Layout]:
    """Exact layouts: TransactGetItems of each SKU's stock item and buckets (several SKUs per call).
    `counts` (active, items) per SKU when just read; else they are read first."""
    result: dict[str, Layout] = {}
    pending = list(dict.fromkeys(sku_ids))
    if counts is None:
        counts = {item["pk"]["S"].removeprefix("SKU#"): bucket_counts(item)
                  for item in batch_get(table, [stock_key(sku) for sku in pending], True)}
    batch: list[str] = []
    size = 0
    for sku_id in pending + [""]:
        items = counts.get(sku_id, (1, 1))[1] if sku_id else 0
        if sku_id and sku_id not in counts:
            result[sku_id] = Layout(sku_id, 1, (), exists=False)
            continue
        if batch and (not sku_id or size + items > TRANSACT_GET_LIMIT):
            result.update(_transact_get(table, batch, counts))
            batch, size = [], 0
        if sku_id:
            batch.append(sku_id)
            size += items
    return result


def _transact_get(table: str, sku_ids: list[str], counts: dict[str, tuple[int, int]]) -> dict[str, Layout]:
    gets = [(sku, index) for sku in sku_ids for index in range(counts[sku][1])]
    # A read cancelled by a write in flight (or throttled) is sent again by the executor, then 503.
    items = transactions.read([transactions.Get(table, bucket_key(sku, index)) for sku, index in gets],
                              attempts=MAX_ATTEMPTS, busy_message="The stock is very busy right now; try again.")
    found: dict[str, dict[int, dict[str, Any]]] = {sku: {} for sku in sku_ids}
    for (sku, index), item in zip(gets, items, strict=True):
        if item:
            found[sku][index] = item
    result = {}
    grown: dict[str, tuple[int, int]] = {}
    for sku in sku_ids:
        stock = found[sku].get(0)
        if stock is None:
            result[sku] = Layout(sku, 1, (), exists=False)
            continue
        active, count = bucket_counts(stock)
        if count > counts[sku][1]:  # buckets were added since the count was read: read them all
            grown[sku] = (active, count)
            continue
        result[sku] = Layout(sku, active, tuple(_bucket(index, found[sku][index]) for index in sorted(found[sku]) if index < count))
    if grown:
        result.update(_transact_get(table, list(grown), grown))
    return result


def hot_skus(table: str, index: str) -> list[str]:
    """Bucketed SKUs, from the sparse index (eventually consistent: a new one waits a run)."""
    found: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": table, "IndexName": index,
        "KeyConditionExpression": "gsi1pk = :p", "ExpressionAttributeValues": {":p": {"S": HOT_SKUS_PK}},
    }
    while True:
        response = connection().client.query(**kwargs)
        found.extend(item["gsi1sk"]["S"] for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# -- the items of writes ------------------------------------------------------------------------


def _now_ms() -> str:
    return str(int(time.time() * 1000))


def move_item(table: str, op: MoveStock) -> dict[str, Any]:
    """The bucket's counters move by the deltas: only if it exists, has the available units it
    gives up, and has the reserved units it releases."""
    conditions = ["attribute_exists(pk)"]
    values: dict[str, Any] = {
        ":r": {"N": str(op.reserved_delta)},
        ":h": {"N": str(op.on_hand_delta)},
        ":a": {"N": str(op.available_delta)},
        ":one": {"N": "1"},
        ":now": {"N": _now_ms()},
    }
    if op.available_delta < 0:
        conditions.append("available >= :need")
        values[":need"] = {"N": str(-op.available_delta)}
    if op.reserved_delta < 0:
        conditions.append("reserved >= :release")
        values[":release"] = {"N": str(-op.reserved_delta)}
    return {"Update": {
        "TableName": table,
        "Key": bucket_key(op.sku_id, op.bucket),
        "UpdateExpression": "SET reserved = reserved + :r, on_hand = on_hand + :h, available = available + :a, "
        "version = version + :one, updated_at = :now",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
    }}


def create_item(table: str, op: CreateStock) -> dict[str, Any]:
    """A SKU's stock item, only if it has none (its opening ledger entry is a Ledger op beside it)."""
    stock = {
        **stock_key(op.sku_id),
        "sku_id": {"S": op.sku_id},
        "on_hand": {"N": str(op.on_hand)},
        "reserved": {"N": "0"},
        "available": {"N": str(op.on_hand)},
        "version": {"N": "1"},
        "updated_at": {"N": _now_ms()},
    }
    if op.product_id:
        stock["product_id"] = {"S": op.product_id}
    if op.seller_id:
        stock["seller_id"] = {"S": op.seller_id}
    return {"Put": {"TableName": table, "Item": stock, "ConditionExpression": "attribute_not_exists(pk)"}}


def set_on_hand_item(table: str, op: SetOnHand) -> dict[str, Any]:
    """An absolute on_hand, only at the on_hand read (the ledger's delta is exact) and never below reserved."""
    return {"Update": {
        "TableName": table,
        "Key": stock_key(op.sku_id),
        "UpdateExpression": "SET on_hand = :new, available = :new - reserved, version = version + :one, updated_at = :now",
        "ConditionExpression": "on_hand = :old AND reserved <= :new",
        "ExpressionAttributeValues": {
            ":new": {"N": str(op.new)}, ":old": {"N": str(op.old)}, ":one": {"N": "1"}, ":now": {"N": _now_ms()},
        },
    }}


def put_bucket_item(table: str, op: PutBucket) -> dict[str, Any]:
    """A hot SKU's new bucket item, holding `on_hand` available units, only if absent."""
    return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
        **bucket_key(op.sku_id, op.index), "sku_id": {"S": op.sku_id}, "bucket": {"N": str(op.index)},
        "on_hand": {"N": str(op.on_hand)}, "reserved": {"N": "0"}, "available": {"N": str(op.on_hand)},
        "version": {"N": "1"}, "updated_at": {"N": _now_ms()},
    }}}


def shift_item(table: str, op: ShiftBucket) -> dict[str, Any]:
    """A bucket's on_hand and available move by delta, only at the version read; bucket 0 also
    records the bucket counts and, while any bucket beyond 0 exists, lists the SKU for the rebalancer."""
    values: dict[str, Any] = {":d": {"N": str(op.delta)}, ":v": {"N": str(op.version)}, ":one": {"N": "1"},
                              ":now": {"N": _now_ms()}}
    sets = ["on_hand = on_hand + :d", "available = available + :d", "version = version + :one", "updated_at = :now"]
    removes: list[str] = []
    if op.counts is not None:
        active, count = op.counts
        sets += ["buckets = :b", "bucket_items = :c"]
        values[":b"], values[":c"] = {"N": str(active)}, {"N": str(count)}
        if count > 1:  # listed for the rebalancer while any bucket beyond 0 exists
            sets += ["gsi1pk = :hot", "gsi1sk = :sku"]
            values[":hot"], values[":sku"] = {"S": HOT_SKUS_PK}, {"S": op.sku_id}
        else:
            removes += ["gsi1pk", "gsi1sk"]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {"Update": {
        "TableName": table, "Key": bucket_key(op.sku_id, op.index), "UpdateExpression": expression,
        "ConditionExpression": "version = :v", "ExpressionAttributeValues": values,
    }}
