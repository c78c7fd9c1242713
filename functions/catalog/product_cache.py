"""Product read model in the cache: cache-aside, 5-minute TTL, version-guarded invalidation.

  product:{<id>}          {"version": n, "view": {...}}   (TTL 300 s)
  product:{<id>}:version  the newest version the catalog stream has seen   (TTL 1 day)

The braces are a hash tag: both keys of a product sit in one slot, as ElastiCache Serverless
(cluster mode) requires for the MGET and WATCH/MULTI that read and write them together.

A reader that fetched version 7 just before an update could write it back after the
invalidation; the version key makes that stale copy a miss instead of serving it for 5 minutes,
and the copy is only written if no newer version is known at that moment (one Lua script).

Who invalidates (ADR 0016): the catalog stream, always (the guarantee: retried, parked on its
DLQ, replayed); and the write handlers themselves, at once and best-effort (`forget`), so the
writer's own next read (GET after PUT or DELETE) is never the cached old page. Both only raise
the version and drop a copy older than it: neither writes product data into the cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from shared import cache

TTL_SECONDS = 300
VERSION_TTL_SECONDS = 86_400


def _keys(product_id: str) -> tuple[str, str]:
    return f"product:{{{product_id}}}", f"product:{{{product_id}}}:version"


def get_or_load(product_id: str, load: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """(product view, came from the cache)."""
    redis = cache.client()
    if redis is None:
        return load(), False
    value_key, version_key = _keys(product_id)
    try:
        raw, latest = redis.mget(value_key, version_key)
        if raw is not None:
            cached = json.loads(raw)
            if latest is None or cached["version"] >= int(latest):
                return cached["view"], True
    except Exception as exc:  # noqa: BLE001 - any cache failure degrades to the table
        cache.trip(exc)
        return load(), False
    view = load()
    try:
        # the version is compared in the script, at the moment of writing: an invalidation may
        # have raised it since the MGET above
        redis.register_script(SET_IF_NOT_OLDER)(
            keys=[value_key, version_key], args=[view["version"], json.dumps({"version": view["version"], "view": view}), TTL_SECONDS]
        )
    except Exception as exc:  # noqa: BLE001
        cache.trip(exc)
    return view, False


# KEYS: value, version; ARGV: the copy's version, the copy, its TTL. Writes the copy unless a
# newer version has been recorded.
SET_IF_NOT_OLDER = """
local latest = redis.call('GET', KEYS[2])
if latest and tonumber(latest) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def forget(product_id: str, version: int) -> None:
    """The write handlers' invalidation right after their write: best-effort (a cache that is
    down or tripped is skipped; the catalog stream invalidates anyway)."""
    if cache.client() is None:
        return
    try:
        invalidate(product_id, version)
    except Exception as exc:  # noqa: BLE001 - the stream's invalidation is the guarantee
        cache.trip(exc)


def invalidate(product_id: str, version: int) -> None:
    """Record that `version` exists and drop a cached copy older than it. A copy already at that
    version stays: the stream's record of a write reaches the cache after the writer's own
    `forget` and usually after the next reader cached the new page, and dropping it would make
    every write cost a second miss. Raises if the cache is down (the stream consumer reports the
    record as failed, and it is retried)."""
    if not os.environ.get("CACHE_URL"):
        return  # no cache configured: nothing can be stale
    redis = cache.cache_client_ignoring_breaker()
    value_key, version_key = _keys(product_id)
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(version_key, value_key)  # a reader writing a copy meanwhile: decide again
                current, cached = pipe.get(version_key), pipe.get(value_key)
                pipe.multi()
                if current is None or int(current) < version:  # never move the version backwards
                    pipe.set(version_key, version, ex=VERSION_TTL_SECONDS)
                if cached is not None and _copy_version(cached) < version:
                    pipe.delete(value_key)
                pipe.execute()
                return
            except _watch_error():
                continue


def _copy_version(raw: str | bytes) -> int:
    try:
        return int(json.loads(raw)["version"])
    except (ValueError, KeyError, TypeError):
        return -1  # unreadable: older than anything


def _watch_error() -> type[Exception]:
    from redis.exceptions import WatchError

    return WatchError
