"""Sharded stock for hot SKUs (ADR 0022): a SKU's available stock spread over N bucket items.

Bucket 0 is the SKU's stock item (`sk=STOCK`), buckets 1..N-1 are `sk=STOCK#<nn>`; each bucket
keeps its own on_hand / reserved / available / version, so every invariant of a stock item
(on_hand = available + reserved, the ledger reconciles, live holds add up to reserved) holds per
bucket, and therefore in total. A reservation decrements ONE bucket (holds.py); nothing on the
hot path touches all of them, so N buckets take N times the writes one item takes.

Everything that moves stock BETWEEN buckets goes through `redistribute`: one transaction over
the SKU's buckets, each written only at the version read (a snapshot from TransactGetItems), with
a ledger entry per bucket. It serves the seller's PUT (set on_hand, set the bucket count), the
scheduled rebalancer, and a reservation that finds its units split over buckets (consolidate).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from functions.inventory import store as keys
from functions.inventory.ledger import entry_item
from shared import transactions
from shared.errors import Conflict, ServiceUnavailable
from shared.observability import logger
from shared.tables import connection, error_code

MAX_ATTEMPTS = 8
BUSY = "The stock is very busy right now; try again."
TRANSACT_GET_LIMIT = 100


def _table() -> str:
    return os.environ["INVENTORY_TABLE_NAME"]


def collapse_units_per_bucket() -> int:
    """At or below this many available units per active bucket, everything moves to bucket 0."""
    return int(os.environ.get("BUCKET_COLLAPSE_UNITS_PER_BUCKET", "2"))


@dataclass(frozen=True)
class Bucket:
    index: int
    on_hand: int
    reserved: int
    available: int
    version: int


@dataclass(frozen=True)
class Layout:
    """A SKU's buckets at one instant (a serializable snapshot when bucketed)."""

    sku_id: str
    active: int  # reservations pick among buckets 0..active-1
    buckets: tuple[Bucket, ...]  # every bucket item that exists (draining ones beyond `active`)
    exists: bool = True

    @property
    def bucketed(self) -> bool:
        return len(self.buckets) > 1

    @property
    def available(self) -> int:
        return sum(bucket.available for bucket in self.buckets)

    @property
    def reserved(self) -> int:
        return sum(bucket.reserved for bucket in self.buckets)

    @property
    def on_hand(self) -> int:
        return sum(bucket.on_hand for bucket in self.buckets)

    @property
    def version(self) -> int:
        """Grows with every change of any bucket (each bucket's version only grows): the
        availability cache and the search index keep the newest sum by it."""
        return sum(bucket.version for bucket in self.buckets)


def _bucket(index: int, item: dict[str, Any]) -> Bucket:
    on_hand = int(item.get("on_hand", {}).get("N", "0"))
    reserved = int(item.get("reserved", {}).get("N", "0"))
    available = int(item["available"]["N"]) if "available" in item else on_hand - reserved
    return Bucket(index, on_hand, reserved, available, int(item.get("version", {}).get("N", "0")))


def bucket_counts(item: dict[str, Any]) -> tuple[int, int]:
    """(active buckets, bucket items) recorded on a stock item (1, 1 for an unbucketed SKU)."""
    items = int(item.get("bucket_items", {}).get("N", "1"))
    return int(item.get("buckets", {}).get("N", "1")), max(1, items)


def layouts(stock_items: dict[str, dict[str, Any]]) -> dict[str, Layout]:
    """Layouts of SKUs whose stock items were just read: an unbucketed SKU's is its stock item;
    a bucketed SKU's is read again, with its buckets, in one TransactGetItems (an exact snapshot)."""
    result: dict[str, Layout] = {}
    bucketed: dict[str, tuple[int, int]] = {}
    for sku_id, item in stock_items.items():
        active, count = bucket_counts(item)
        if count > 1:
            bucketed[sku_id] = (active, count)
        else:
            result[sku_id] = Layout(sku_id, 1, (_bucket(0, item),))
    result.update(snapshot(list(bucketed), bucketed))
    return result


def snapshot(sku_ids: list[str], counts: dict[str, tuple[int, int]] | None = None) -> dict[str, Layout]:
    """Exact layouts: TransactGetItems of each SKU's stock item and buckets (several SKUs per call).
    `counts` (active, items) per SKU when just read; else they are read first."""
    result: dict[str, Layout] = {}
    table = _table()
    pending = list(dict.fromkeys(sku_ids))
    counts = counts if counts is not None else _counts(pending)
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


def _counts(sku_ids: list[str]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    table = _table()
    for start in range(0, len(sku_ids), 100):
        request: dict[str, Any] = {table: {"Keys": [keys.stock_key(sku) for sku in sku_ids[start : start + 100]],
                                           "ConsistentRead": True}}
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[item["pk"]["S"].removeprefix("SKU#")] = bucket_counts(item)
            request = response.get("UnprocessedKeys") or {}
    return found


def _transact_get(table: str, sku_ids: list[str], counts: dict[str, tuple[int, int]]) -> dict[str, Layout]:
    gets = [(sku, index) for sku in sku_ids for index in range(counts[sku][1])]
    # a conflicting write in flight: read again
    items = transactions.read([transactions.Get(table, keys.bucket_key(sku, index)) for sku, index in gets],
                              attempts=MAX_ATTEMPTS, busy_message=BUSY)
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


# -- moving stock between buckets -------------------------------------------------------------


def spread(total: int, active: int, count: int, collapse: bool) -> list[int]:
    """Target available per bucket: even over the active ones, or all in bucket 0 when collapsed."""
    targets = [0] * count
    if collapse or active <= 1:
        targets[0] = total
        return targets
    base, extra = divmod(total, active)
    for index in range(active):
        targets[index] = base + (1 if index < extra else 0)
    return targets


def should_collapse(total_available: int, active: int) -> bool:
    return active > 1 and total_available <= collapse_units_per_bucket() * active


def redistribute(sku_id: str, *, on_hand: int | None = None, buckets: int | None = None,
                 collapse: bool | None = None, attempts: int = MAX_ATTEMPTS) -> Layout:
    """Set the SKU's bucket count and/or total on_hand, and spread its available stock, in ONE
    transaction at the snapshot's versions (a concurrent reservation cancels it: read again).

    Reserved units never move (their holds name their bucket); draining buckets (beyond the
    active count) keep their reserved units until released and give their available to the others.
    Raises Conflict when on_hand would go below what is reserved.
    """
    table = _table()
    for attempt in range(1, attempts + 1):
        layout = snapshot([sku_id])[sku_id]
        if not layout.exists:
            raise Conflict("This SKU has no stock record yet.", {"sku_id": sku_id})
        active = buckets or layout.active
        count = max(len(layout.buckets), active)
        total = layout.available if on_hand is None else on_hand - layout.reserved
        if total < 0:
            raise Conflict("On-hand stock cannot go below what shoppers have reserved.",
                           {"sku_id": sku_id, "requested": on_hand, "reserved": layout.reserved})
        fold = should_collapse(total, active) if collapse is None else collapse
        targets = spread(total, active, count, fold)
        changed = on_hand is not None and on_hand != layout.on_hand
        kind = "rebalance" if not changed else ("restock" if on_hand > layout.on_hand else "adjust")  # type: ignore[operator]
        transact: list[dict[str, Any]] = []
        now = str(int(time.time() * 1000))
        by_index = {bucket.index: bucket for bucket in layout.buckets}
        meta_changed = (active, count) != (layout.active, len(layout.buckets))
        for index in range(count):
            delta = targets[index] - (by_index[index].available if index in by_index else 0)
            if index not in by_index:
                transact.append({"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
                    **keys.bucket_key(sku_id, index), "sku_id": {"S": sku_id}, "bucket": {"N": str(index)},
                    "on_hand": {"N": str(targets[index])}, "reserved": {"N": "0"}, "available": {"N": str(targets[index])},
                    "version": {"N": "1"}, "updated_at": {"N": now},
                }}})
            elif delta or (index == 0 and meta_changed):
                transact.append(_move(table, sku_id, by_index[index], delta, active if index == 0 else None,
                                      count if index == 0 else None, now))
            if delta:
                transact.append(entry_item(table, sku_id, kind, on_hand_delta=delta, bucket=index))
        if not transact:
            return layout
        try:
            # retry_busy=False: a busy bucket means the snapshot is moving: read it again (below)
            transactions.write(transact, retry_busy=False)
            logger.info("stock redistributed", extra={"sku_id": sku_id, "buckets": active, "targets": targets})
            return snapshot([sku_id])[sku_id]
        except Exception as exc:  # noqa: BLE001 - classified below
            if error_code(exc) not in {"TransactionCanceledException", "ThrottlingException"}:
                raise
            transactions.back_off(attempt)
    raise ServiceUnavailable(BUSY)


def _move(table: str, sku_id: str, bucket: Bucket, delta: int, active: int | None, count: int | None,
          now: str) -> dict[str, Any]:
    values: dict[str, Any] = {":d": {"N": str(delta)}, ":v": {"N": str(bucket.version)}, ":one": {"N": "1"},
                              ":now": {"N": now}}
    sets = ["on_hand = on_hand + :d", "available = available + :d", "version = version + :one", "updated_at = :now"]
    removes: list[str] = []
    if active is not None and count is not None:
        sets += ["buckets = :b", "bucket_items = :c"]
        values[":b"], values[":c"] = {"N": str(active)}, {"N": str(count)}
        if count > 1:  # listed for the rebalancer while any bucket beyond 0 exists
            sets += ["gsi1pk = :hot", "gsi1sk = :sku"]
            values[":hot"], values[":sku"] = {"S": keys.HOT_SKUS_PK}, {"S": sku_id}
        else:
            removes += ["gsi1pk", "gsi1sk"]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {"Update": {
        "TableName": table, "Key": keys.bucket_key(sku_id, bucket.index), "UpdateExpression": expression,
        "ConditionExpression": "version = :v", "ExpressionAttributeValues": values,
    }}


def needs_rebalance(layout: Layout) -> bool:
    """Uneven buckets (a spread larger than a quarter of the fair share), available stock left in
    a draining bucket, or units outside bucket 0 near sell-out."""
    if not layout.bucketed:
        return False
    total = layout.available
    targets = spread(total, layout.active, len(layout.buckets), should_collapse(total, layout.active))
    slack = max(1, total // (4 * max(1, layout.active)))
    return any(abs(bucket.available - target) > slack or (target == 0 and bucket.available > 0)
               for bucket, target in zip(layout.buckets, targets, strict=False))


def hot_skus() -> list[str]:
    """Bucketed SKUs, from the sparse index (eventually consistent: a new one waits a run)."""
    found: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(), "IndexName": keys.EXPIRY_INDEX,
        "KeyConditionExpression": "gsi1pk = :p", "ExpressionAttributeValues": {":p": {"S": keys.HOT_SKUS_PK}},
    }
    while True:
        response = connection().client.query(**kwargs)
        found.extend(item["gsi1sk"]["S"] for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def rebalance_all() -> dict[str, int]:
    """The scheduled rebalancer's work: even out every hot SKU's buckets, collapse near sell-out.
    A SKU too busy to move now (its transaction keeps being cancelled) waits for the next run."""
    moved = busy = 0
    for sku_id in hot_skus():
        layout = snapshot([sku_id]).get(sku_id)
        if layout is None or not layout.exists or not needs_rebalance(layout):
            continue
        try:
            redistribute(sku_id, attempts=3)
            moved += 1
        except ServiceUnavailable:
            busy += 1
    return {"rebalanced": moved, "busy": busy}
