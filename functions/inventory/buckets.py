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

The reads and the items are the store's (store/stock.py); this module decides what moves where.
"""

from __future__ import annotations

import os
import random
import time

from functions.inventory import store
from functions.inventory.store.ops import Cancelled, Ledger, Op, PutBucket, ShiftBucket, Throttled
from functions.inventory.store.records import Bucket, Layout
from shared.errors import Conflict, ServiceUnavailable
from shared.observability import logger

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 0.02

__all__ = ["Bucket", "Layout", "needs_rebalance", "rebalance_all", "redistribute", "should_collapse", "snapshot", "spread"]


def collapse_units_per_bucket() -> int:
    """At or below this many available units per active bucket, everything moves to bucket 0."""
    return int(os.environ.get("BUCKET_COLLAPSE_UNITS_PER_BUCKET", "2"))


def snapshot(sku_ids: list[str]) -> dict[str, Layout]:
    """Exact layouts of the SKUs (each SKU's buckets at one instant; `exists` False: no stock item)."""
    return store.current().snapshot(sku_ids)


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
    table = store.current()
    for attempt in range(1, attempts + 1):
        layout = table.snapshot([sku_id])[sku_id]
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
        ops: list[Op] = []
        by_index = {bucket.index: bucket for bucket in layout.buckets}
        meta_changed = (active, count) != (layout.active, len(layout.buckets))
        for index in range(count):
            delta = targets[index] - (by_index[index].available if index in by_index else 0)
            if index not in by_index:
                ops.append(PutBucket(sku_id, index, targets[index]))
            elif delta or (index == 0 and meta_changed):
                ops.append(ShiftBucket(sku_id, index, by_index[index].version, delta, (active, count) if index == 0 else None))
            if delta:
                ops.append(Ledger(sku_id, kind, on_hand_delta=delta, bucket=index))
        if not ops:
            return layout
        try:
            table.transact(ops)
            logger.info("stock redistributed", extra={"sku_id": sku_id, "buckets": active, "targets": targets})
            return table.snapshot([sku_id])[sku_id]
        except (Cancelled, Throttled):
            _pause(BASE_BACKOFF_SECONDS * 2 ** min(attempt, 6))
    raise ServiceUnavailable("The stock is very busy right now; try again.")


def _pause(most_seconds: float) -> None:
    """Jittered back-off before the next attempt (up to `most_seconds`)."""
    time.sleep(random.uniform(0, most_seconds))


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


def rebalance_all() -> dict[str, int]:
    """The scheduled rebalancer's work: even out every hot SKU's buckets, collapse near sell-out.
    A SKU too busy to move now (its transaction keeps being cancelled) waits for the next run."""
    moved = busy = 0
    table = store.current()
    for sku_id in table.hot_skus():
        layout = table.snapshot([sku_id]).get(sku_id)
        if layout is None or not layout.exists or not needs_rebalance(layout):
            continue
        try:
            redistribute(sku_id, attempts=3)
            moved += 1
        except ServiceUnavailable:
            busy += 1
    return {"rebalanced": moved, "busy": busy}
