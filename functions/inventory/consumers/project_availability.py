"""Inventory stream -> availability cache (the read model of functions/inventory/availability.py).

The mapping's filter delivers stock items (sk=STOCK), hot SKUs' stock buckets (sk=STOCK#<n>,
ADR 0022: projected as the sum over the SKU's buckets) and the sweeper's heartbeat (sk=HEARTBEAT).
Each batch is ONE Lua script call, atomic in the cache:

- a stock INSERT/MODIFY sets `{avail}:sku:<id>` only if its `version` is newer than the cached
  one, so a redelivered or out-of-order record never moves availability backwards;
- a REMOVE writes a tombstone at the old version + 1 (a stale update arriving later is refused);
  an INSERT whose stream sequence number is newer than the tombstone's starts the item's new
  life at version 1;
- every record (heartbeats too) moves `{avail}:watermark` to its ApproximateCreationDateTime,
  never backwards.

Records are handled in order and a failure fails that record and every later one in the batch:
the watermark then never claims a time whose changes are not in the cache. A cache outage
fails the batch (reported in batchItemFailures), Lambda retries it, and past the mapping's
retries it goes to the on-failure queue: nothing is skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.inventory.availability import TOMBSTONE, Entry, write
from functions.inventory.store import bucket_of
from shared import cache
from shared.observability import logger
from shared.stream_batches import partial_batch_response

HEARTBEAT_SK = "HEARTBEAT"
OK = None


@dataclass(frozen=True)
class Change:
    """What one stream record does to the cache."""

    sequence: str
    created_ms: int | None  # ApproximateCreationDateTime, epoch ms
    sku_id: str | None = None  # None: a heartbeat (watermark only)
    version: int = 0
    available: str = ""  # an integer, or TOMBSTONE
    insert: bool = False


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, context, project(event.get("Records") or []), "projected availability batch")


def project(records: Sequence[dict[str, Any]], redis: Any = None) -> dict[str, str | None]:
    """Sequence number -> outcome (None: in the cache, else why not) for Lambda-shaped records."""
    changes: list[Change] = []
    outcomes: dict[str, str | None] = {}
    failed: str | None = None
    for record in records:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        if failed is not None:
            outcomes[sequence] = f"an earlier record of the batch failed ({failed})"
            continue
        try:
            change = to_change(record)
        except Exception as exc:  # a malformed record fails, and so does everything after it
            logger.exception("cannot translate inventory stream record", extra={"sequence_number": sequence})
            outcomes[sequence] = failed = f"untranslatable record: {type(exc).__name__}: {exc}"
            continue
        if change is not None:
            changes.append(change)
        outcomes[sequence] = OK
    if changes:
        try:
            apply(changes, redis)
        except Exception as exc:
            reason = f"cache unavailable: {type(exc).__name__}: {exc}"
            logger.warning("availability projection failed", extra={"records": len(changes), "reason": reason})
            for change in changes:
                outcomes[change.sequence] = reason
    return outcomes


def to_change(record: dict[str, Any]) -> Change | None:
    """The cache change of a Lambda-shaped inventory stream record (None: not ours)."""
    ddb = record["dynamodb"]
    sk = ddb["Keys"]["sk"]["S"]
    created = ddb.get("ApproximateCreationDateTime")
    created_ms = int(float(created) * 1000) if created is not None else None
    sequence = str(ddb["SequenceNumber"])
    if sk == HEARTBEAT_SK:
        return Change(sequence=sequence, created_ms=created_ms)
    bucket = bucket_of(sk)
    if bucket is None:
        return None  # the mapping's filter keeps these away; never let them move the watermark
    image = ddb.get("NewImage") or ddb.get("OldImage") or {}
    if bucket > 0 or int(image.get("bucket_items", {}).get("N", "1")) > 1:
        return _bucketed_change(ddb, image, sequence, created_ms)
    if record["eventName"] == "REMOVE":
        old = ddb["OldImage"]
        return Change(sequence=sequence, created_ms=created_ms, sku_id=_sku_id(ddb, old),
                      version=int(old["version"]["N"]) + 1, available=TOMBSTONE)
    new = ddb["NewImage"]
    if "available" in new:
        available = int(new["available"]["N"])
    else:
        available = int(new["on_hand"]["N"]) - int(new.get("reserved", {"N": "0"})["N"])
    return Change(sequence=sequence, created_ms=created_ms, sku_id=_sku_id(ddb, new),
                  version=int(new["version"]["N"]), available=str(available), insert=record["eventName"] == "INSERT")


def _bucketed_change(ddb: dict[str, Any], image: dict[str, Any], sequence: str, created_ms: int | None) -> Change:
    """A hot SKU's figure is the sum over its buckets (ADR 0022): one bucket's record says only
    that the sum moved, so read it (strongly consistent) at the buckets' summed version, which
    grows with every change of any bucket; the compare-and-set keeps the newest."""
    from functions.inventory.stock import stock_levels

    sku_id = _sku_id(ddb, image)
    available, version = stock_levels([sku_id]).get(sku_id, (0, 0))
    return Change(sequence=sequence, created_ms=created_ms, sku_id=sku_id, version=version, available=str(available))


def _sku_id(ddb: dict[str, Any], image: dict[str, Any]) -> str:
    if "sku_id" in image:
        return image["sku_id"]["S"]
    return ddb["Keys"]["pk"]["S"].removeprefix("SKU#")


def apply(changes: Sequence[Change], redis: Any = None) -> int:
    """All the batch's changes in ONE compare-and-set script call (atomic); returns how many keys
    moved. Raises if the cache cannot be reached (the records are then reported as failed)."""
    if redis is None:
        if not os.environ.get("CACHE_URL"):
            return 0  # no cache configured: nothing to keep in sync
        redis = cache.cache_client_ignoring_breaker()
    marks = [change.created_ms for change in changes if change.created_ms is not None]
    entries = [Entry(change.sku_id, change.version, change.available, change.sequence, change.insert)
               for change in changes if change.sku_id is not None]
    return write(redis, entries, max(marks) if marks else None)
