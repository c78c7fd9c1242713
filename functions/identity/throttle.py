"""Login throttling that holds across Lambda instances: counters in DynamoDB, expiring by TTL.

Two keys, neither of them the email alone (ADR 0020), so nobody can lock the rightful owner out
from their own device by failing sign-ins elsewhere:
- email + client address: `email_limit()` failures within a minute lock that pair, for 1 min the
  first time and twice as long each time after, capped at 15 min;
- client address: `address_limit()` failures within a minute, over any emails (password spraying,
  credential stuffing), lock the address for every email, back-off capped at 1 h.
The address is API Gateway's `requestContext.identity.sourceIp` (the TCP peer it saw), never a
header the client sets. A locked key gets 429 even with the right password, so guessing gains
nothing. Every change is one conditional UpdateItem: concurrent failures cannot lose counts, and
exactly one of them applies a lock.
"""

from __future__ import annotations

import hashlib
import os
import time

from functions.identity import store
from shared.errors import RateLimited

WINDOW_SECONDS = 60
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600  # an address
MAX_PAIR_LOCK_SECONDS = 900  # an email from one address: the owner elsewhere is never locked, and here not for long
KEEP_SECONDS = 24 * 3600  # counters (and the back-off they drive) are forgotten after a day


def email_limit() -> int:
    return int(os.environ.get("LOGIN_MAX_FAILURES", "5"))


def address_limit() -> int:
    # Many people can share one address (offices, carrier NAT), so the address limit is looser.
    return int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", str(email_limit() * 10)))


def throttle_key(scope: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]  # no raw emails/IPs in keys
    return f"THROTTLE#{scope}#{digest}"


def pair_key(email: str, address: str) -> str:
    """The key of one email tried from one client address."""
    return throttle_key("email-address", f"{email.strip().lower()}|{address.strip()}")


def address_key(address: str) -> str:
    return throttle_key("address", address)


def lock_seconds(lockouts: int, cap: int = MAX_LOCK_SECONDS) -> int:
    return min(FIRST_LOCK_SECONDS * 2**lockouts, cap)


def ensure_not_locked(keys: list[str], now: float | None = None) -> None:
    now = time.time() if now is None else now
    retry_after = 0
    for key in keys:
        counter = store.get_throttle(key)
        if counter is not None and counter.locked_until > now:
            retry_after = max(retry_after, int(counter.locked_until - now) + 1)
    if retry_after:
        raise RateLimited("Too many failed sign-ins. Try again later.", {"retry_after_seconds": retry_after})


def record_failure(key: str, limit: int, now: float | None = None, max_lock_seconds: int = MAX_LOCK_SECONDS) -> bool:
    """Count one failure; returns True if this failure locked the key."""
    now = int(time.time() if now is None else now)
    cutoff = now - WINDOW_SECONDS
    counter = None
    for _ in range(3):  # another failure may open a new window between our two attempts
        counter = store.count_failure_in_window(key, cutoff, now + KEEP_SECONDS)
        if counter is not None:
            break
        counter = store.open_window(key, now, cutoff, now + KEEP_SECONDS)
        if counter is not None:
            break
    if counter is None or counter.failures < limit:
        return False
    return store.lock(key, limit, now, now + lock_seconds(int(counter.lockouts or 0), max_lock_seconds), now + KEEP_SECONDS)


def clear(key: str) -> None:
    """A successful sign-in forgets the pair's failures (not its lock-out history's back-off)."""
    store.clear_failures(key)
