"""The read-model cache (Redis protocol: ElastiCache/Valkey in AWS, redis-server locally).

Reads never fail because of the cache: any cache error opens a short circuit breaker and the
caller reads the system of record instead. `CACHE_URL` empty = no cache configured.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from shared.observability import logger

BREAKER_SECONDS = 5.0  # after a cache error, skip the cache this long (no timeout per request)
_state = {"open_until": 0.0}


@lru_cache(maxsize=1)
def _client(url: str) -> Any:
    import redis  # lazy: handlers that never touch the cache do not pay for it
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    # One immediate retry on a broken connection: after a cache restart or failover the pooled
    # sockets are dead, and the first command on each would otherwise fail (and trip the breaker,
    # or fail a stream record) although the cache is back. More retries would only delay the
    # breaker when the cache really is down.
    return redis.Redis.from_url(
        url, socket_timeout=0.25, socket_connect_timeout=0.25, decode_responses=True,
        retry=Retry(NoBackoff(), 1), retry_on_error=[RedisConnectionError],
    )


def client() -> Any | None:
    """The cache client, or None when no cache is configured or the breaker is open."""
    url = os.environ.get("CACHE_URL", "")
    if not url or breaker_open():
        return None
    return _client(url)


def cache_client_ignoring_breaker() -> Any:
    """For writers that must not skip the cache (invalidation): fail loudly instead."""
    return _client(os.environ["CACHE_URL"])


def trip(exc: Exception) -> None:
    """A cache call failed: stop using the cache for a few seconds, then try again."""
    _state["open_until"] = time.monotonic() + BREAKER_SECONDS
    logger.warning("cache unavailable; serving from the table", extra={"error": repr(exc)})


def breaker_open() -> bool:
    return time.monotonic() < _state["open_until"]


def reset_breaker() -> None:
    _state["open_until"] = 0.0
