"""The admission gate: sheds add-to-cart requests for a sold-out SKU in the cache, before they
cost a DynamoDB call (docs/decisions/0024-admission-gate.md).

It is not a second stock counter. It reads the availability read model that the inventory
stream's projector keeps (functions/inventory/availability.py: `{avail}:sku:<id>` =
"<version>|<available>", `{avail}:watermark`), in ONE Lua call, and answers:

  shed     the watermark is fresh and the SKU's versioned value says available <= 0: 409 now
  pass     anything else (in stock, stale or missing watermark, a tombstone): the reservation
           transaction decides, as without a gate
  probe    sold out, but this is the one request per SKU per GATE_PROBE_SECONDS let through
           anyway: if DynamoDB then reserves it, the cached value was wrong (drift), and the
           key is dropped and rebuilt from the table
  missing  no key (the cache restarted or lost it): pass; the first such request per probe
           window rebuilds the key from the table afterwards

So the gate can only ever say "sold out", and only what a recent stream-fed snapshot says; a
success is always DynamoDB's. No cache, an open breaker, a cache error, or ADMISSION_GATE=off
(the operator's kill switch): every request goes to DynamoDB, as before the gate existed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from functions.inventory import availability
from shared import cache
from shared.errors import OutOfStock
from shared.observability import logger

SHED, PASS, PROBE, MISSING, REBUILD = "shed", "pass", "probe", "missing", "rebuild"
OFF = "off"  # no gate for this request (switched off, no cache, breaker open, cache error)
DEFAULT_PROBE_SECONDS = 1.0

# KEYS[1] the watermark, KEYS[2] the SKU's availability key, KEYS[3] its probe token, KEYS[4] its
# rebuild token (one request per window does each).
# ARGV[1] now (epoch ms), ARGV[2] how old the watermark may be (ms), ARGV[3] probe window (ms).
GATE_SCRIPT = """
local mark = tonumber(redis.call('GET', KEYS[1]) or '')
if not mark or tonumber(ARGV[1]) - mark > tonumber(ARGV[2]) then
  return 'pass'
end
local value = redis.call('GET', KEYS[2])
local version, available
if value then
  version, available = string.match(value, '^(%d+)|([^|]*)')
end
if not version then
  if redis.call('SET', KEYS[4], '1', 'PX', ARGV[3], 'NX') then
    return 'rebuild'
  end
  return 'missing'
end
local count = tonumber(available)
if not count or count > 0 then
  return 'pass'
end
if redis.call('SET', KEYS[3], '1', 'PX', ARGV[3], 'NX') then
  return 'probe'
end
return 'shed'
"""


def probe_key(sku_id: str, purpose: str = "probe") -> str:
    return f"{{avail}}:gate-{purpose}:{sku_id}"  # the {avail} slot: one script over all its keys


def probe_seconds() -> float:
    return float(os.environ.get("GATE_PROBE_SECONDS") or DEFAULT_PROBE_SECONDS)


def enabled() -> bool:
    return os.environ.get("ADMISSION_GATE", "on").lower() not in ("off", "0", "false")


def verdict(sku_id: str) -> str:
    """What the gate says about a request for more of `sku_id` (never raises)."""
    if not enabled():
        return OFF
    redis = cache.client()
    if redis is None:
        return OFF
    try:
        answer = redis.register_script(GATE_SCRIPT)(
            keys=[availability.WATERMARK_KEY, availability.sku_key(sku_id), probe_key(sku_id), probe_key(sku_id, "rebuild")],
            args=[int(time.time() * 1000), int(availability.stale_after_seconds() * 1000), max(1, int(probe_seconds() * 1000))],
        )
    except Exception as exc:  # noqa: BLE001 - the gate is an optimisation: no cache, no gate
        cache.trip(exc)
        return OFF
    return str(answer)


@contextmanager
def admission(sku_id: str, quantity: int) -> Iterator[str]:
    """Around a reservation of `quantity` more of `sku_id`: raises OutOfStock at once when the
    gate sheds it; afterwards rebuilds the SKU's key from the table when the gate found it
    missing, or was proven wrong by a probe that DynamoDB granted."""
    answer = verdict(sku_id)
    if answer == SHED:
        logger.debug("admission gate shed", extra={"sku_id": sku_id})
        raise OutOfStock("This item is sold out.", {"sku_id": sku_id, "requested": quantity, "available": 0})
    granted = False
    try:
        yield answer
        granted = True
    except OutOfStock:
        raise  # DynamoDB agrees with the gate (or the SKU is short): nothing to fix
    finally:
        if answer == REBUILD or (answer == PROBE and granted):
            _rebuild(sku_id, drop=answer == PROBE)


def _rebuild(sku_id: str, drop: bool) -> None:
    """Write the table's value back into the read model; `drop` first deletes a key that was
    wrong (the compare-and-set never replaces a key with an older version than it holds)."""
    redis = cache.client()
    if redis is None:
        return
    try:
        if drop:
            logger.warning("admission gate said sold out but DynamoDB reserved: rebuilding the key", extra={"sku_id": sku_id})
            redis.delete(availability.sku_key(sku_id))
        availability.rebuild(redis, [sku_id])
    except Exception as exc:  # noqa: BLE001 - the request is already answered
        cache.trip(exc)
