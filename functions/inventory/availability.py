"""Per-SKU availability for pages: from the availability cache, or from the table in ONE call.

The inventory stream's projector (`project_availability.py`) keeps this read model:

  {avail}:sku:<sku_id>    "<version>|<available>"        the newest version wins; no TTL
                          "<version>|-|<sequence>"       tombstone: the stock item was removed (TTL 1 day)
  {avail}:watermark       epoch ms of the newest stream record projected (stock change or heartbeat)

The watermark is what says "fresh", not a TTL: the hold sweeper's heartbeat moves it every few
seconds, so a quiet SKU's key stays a valid hit as long as the projector keeps up. The `{avail}`
hash tag keeps every key in one cluster slot, so one MGET (and one script) covers the watermark
and all of a page's SKUs on a clustered cache (ElastiCache Serverless) too.

A read is a **hit** when the watermark is younger than `AVAILABILITY_STALE_SECONDS` (30 s) and
every SKU has a key: zero DynamoDB calls. Otherwise it is **degraded**: the SKUs the cache cannot
vouch for (all of them when the watermark is stale or missing, or the cache is unreachable) come
from one BatchGetItem on the inventory table, never one call per SKU. A missing key is never read
as "0 available"; only the table (or a tombstone) says a SKU has no stock item.

Keys found missing are written back with the version read (read repair, through the same
compare-and-set as the projector, so it can never replace a newer value; a SKU with no stock
item gets a version-0 tombstone that any record of the item overrides): after the cache lost its
data, for stock older than the projector, and for SKUs never stocked, pages become hits again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from shared import cache, metrics
from shared.metrics import AVAILABILITY_READS
from shared.observability import logger

DEFAULT_STALE_SECONDS = 30.0
WATERMARK_KEY = "{avail}:watermark"
TOMBSTONE = "-"
TOMBSTONE_TTL_SECONDS = 86_400  # a stream keeps records 24 h: no older record can arrive later
SEQUENCE_WIDTH = 40  # stream sequence numbers are decimal strings of up to 40 digits
HIT, DEGRADED = "hit", "degraded"
MAX_BATCH = 100  # BatchGetItem's limit per call

# Compare-and-set of availability keys by version, and the watermark's advance, in one atomic call.
# KEYS[1] the watermark, KEYS[2..] availability keys (in stream order; a key may repeat).
# ARGV[1] watermark (epoch ms; "" = leave it), ARGV[2] tombstone TTL, then 4 per key:
# version, available ("-" = tombstone), stream sequence (zero-padded; "" if none), is-insert ("1"/"0").
# A newer version wins. An INSERT newer (by sequence) than a tombstone wins too: the item was
# deleted and created again, and its new life starts at version 1.
CAS_SCRIPT = """
local applied = 0
for i = 2, #KEYS do
  local a = 3 + (i - 2) * 4
  local version, available, sequence, insert = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local current = redis.call('GET', KEYS[i])
  local take = not current
  if current then
    local cur_version, cur_available, cur_sequence = string.match(current, '^(%d+)|([^|]*)|?(.*)$')
    if not cur_version or tonumber(version) > tonumber(cur_version) then
      take = true
    elseif insert == '1' and cur_available == '-' and sequence > cur_sequence then
      take = true
    end
  end
  if take then
    if available == '-' then
      redis.call('SET', KEYS[i], version .. '|-|' .. sequence, 'EX', ARGV[2])
    else
      redis.call('SET', KEYS[i], version .. '|' .. available)
    end
    applied = applied + 1
  end
end
local mark = tonumber(ARGV[1])
if mark then
  local current = tonumber(redis.call('GET', KEYS[1]) or '')
  if not current or mark > current then
    redis.call('SET', KEYS[1], ARGV[1])
  end
end
return applied
"""


class Entry(NamedTuple):
    """One availability value to compare-and-set."""

    sku_id: str
    version: int
    available: str  # an integer, or TOMBSTONE
    sequence: str = ""  # the stream record's sequence number ("" for a read repair)
    insert: bool = False


def sku_key(sku_id: str) -> str:
    return f"{{avail}}:sku:{sku_id}"


def write(redis: Any, entries: Iterable[Entry], watermark_ms: int | None = None) -> int:
    """Compare-and-set `entries` in stream order and advance the watermark, atomically, in one
    call; returns how many keys changed. Raises if the cache cannot be reached."""
    keys = [WATERMARK_KEY]
    args: list[str | int] = ["" if watermark_ms is None else watermark_ms, TOMBSTONE_TTL_SECONDS]
    for entry in entries:
        keys.append(sku_key(entry.sku_id))
        args += [entry.version, entry.available, entry.sequence.zfill(SEQUENCE_WIDTH), "1" if entry.insert else "0"]
    return int(redis.register_script(CAS_SCRIPT)(keys=keys, args=args))


def decode(raw: str | None) -> dict[str, Any] | None:
    """A cached value as {"in_stock", "available"}; None when absent or unreadable (= ask the table)."""
    if raw is None:
        return None
    parts = raw.split("|")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    if parts[1] == TOMBSTONE:  # the stock item was removed: like a SKU that never had one
        return {"in_stock": False, "available": 0}
    try:
        available = max(0, int(parts[1]))
    except ValueError:
        return None
    return {"in_stock": available > 0, "available": available}


def stale_after_seconds() -> float:
    """How old the watermark may be before the cache is not trusted (env AVAILABILITY_STALE_SECONDS)."""
    return float(os.environ.get("AVAILABILITY_STALE_SECONDS") or DEFAULT_STALE_SECONDS)


# -- reading ------------------------------------------------------------------------------------


def availability(sku_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{sku_id: {"in_stock": bool, "available": int}} for every SKU asked (no stock item: 0)."""
    values, _ = read(sku_ids)
    return values


def read(sku_ids: list[str]) -> tuple[dict[str, dict[str, Any]], str]:
    """(availability per SKU, "hit" or "degraded")."""
    unique = list(dict.fromkeys(sku_ids))
    if not unique:
        return {}, HIT
    redis = cache.client()
    found: dict[str, dict[str, Any]] = {}
    absent: list[str] = []  # SKUs with no key in a reachable cache: repaired after the table read
    if redis is None:
        reason = "breaker-open" if os.environ.get("CACHE_URL") else "no-cache"
    else:
        try:
            raw = redis.mget([WATERMARK_KEY, *(sku_key(sku_id) for sku_id in unique)])
        except Exception as exc:  # noqa: BLE001 - any cache failure degrades to the table
            cache.trip(exc)
            reason, redis = "cache-error", None
        else:
            values = {sku_id: decode(value) for sku_id, value in zip(unique, raw[1:], strict=True)}
            absent = [sku_id for sku_id, value in values.items() if value is None]
            reason = _watermark_problem(raw[0])
            if not reason:
                found = {sku_id: value for sku_id, value in values.items() if value is not None}
                reason = "missing-keys" if absent else ""
    missing = [sku_id for sku_id in unique if sku_id not in found]
    if missing:
        from_table = _from_table(missing)
        found.update({sku_id: view for sku_id, (view, _) in from_table.items()})
        if redis is not None and absent:
            _repair(redis, [_repair_entry(sku_id, *from_table[sku_id]) for sku_id in absent if sku_id in from_table])
    mode = DEGRADED if missing else HIT
    _record(mode, reason, len(unique), len(missing))
    return {sku_id: dict(found[sku_id]) for sku_id in sku_ids}, mode


def _watermark_problem(raw: str | None) -> str:
    """"" when the projector is known to be current, else why not."""
    try:
        watermark_ms = int(raw) if raw is not None else None
    except ValueError:
        watermark_ms = None
    if watermark_ms is None:
        return "no-watermark"
    if time.time() * 1000 - watermark_ms > stale_after_seconds() * 1000:
        return "stale-watermark"  # the projector may be behind: no cached value is trusted
    return ""


def _from_table(sku_ids: list[str]) -> dict[str, tuple[dict[str, Any], int | None]]:
    """{sku_id: (view, version or None when it has no stock item)} in one BatchGetItem per 100 SKUs
    (and one more for hot SKUs' buckets: their sum at the summed version, ADR 0022).

    Like functions.inventory.stock.availability, plus each item's version for the read repair."""
    from functions.inventory.stock import stock_levels

    result: dict[str, tuple[dict[str, Any], int | None]] = {sku_id: ({"in_stock": False, "available": 0}, None) for sku_id in sku_ids}
    for sku_id, (available, version) in stock_levels(sku_ids, consistent=False).items():
        result[sku_id] = ({"in_stock": available > 0, "available": available}, version)
    return result


def _repair_entry(sku_id: str, view: dict[str, Any], version: int | None) -> Entry:
    """What to write back for a SKU the cache lacked. No stock item -> a version-0 tombstone:
    any stream record of the item wins over it, and it expires like every tombstone."""
    if version is None:
        return Entry(sku_id, 0, TOMBSTONE)
    return Entry(sku_id, version, str(view["available"]))


def rebuild(redis: Any, sku_ids: list[str]) -> int:
    """Write the table's values for `sku_ids` into the cache through the compare-and-set (a key
    it lacks is taken, a newer one kept); the admission gate's repair. Raises on a cache error."""
    from_table = _from_table(list(dict.fromkeys(sku_ids)))
    return write(redis, [_repair_entry(sku_id, *from_table[sku_id]) for sku_id in from_table])


def _repair(redis: Any, entries: list[Entry]) -> None:
    """Write back what the table said for keys the cache lacked (never over a newer version)."""
    if not entries:
        return
    try:
        write(redis, entries)
    except Exception as exc:  # noqa: BLE001 - the page is already answered from the table
        cache.trip(exc)


def _record(mode: str, reason: str, skus: int, from_table: int) -> None:
    """A metric per read (AvailabilityReads by Mode), and a log line when degraded."""
    if mode == DEGRADED:
        logger.info("availability degraded", extra={"availability_mode": mode, "reason": reason, "skus": skus, "from_table": from_table})
    else:
        logger.debug("availability from cache", extra={"availability_mode": mode, "skus": skus})
    metrics.count(AVAILABILITY_READS, "Mode", mode)
