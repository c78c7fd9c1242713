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

from pynamodb.exceptions import UpdateError

from shared.errors import RateLimited
from shared.lazy import lazy_module
from shared.tables import is_condition_failure

models = lazy_module("functions.identity.store")  # pynamodb models import most of botocore: on first use (shared/lazy.py)

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
        try:
            item = models.LoginThrottleItem.get(key, "LOGIN", consistent_read=True)
        except models.LoginThrottleItem.DoesNotExist:
            continue
        if item.locked_until > now:
            retry_after = max(retry_after, int(item.locked_until - now) + 1)
    if retry_after:
        raise RateLimited("Too many failed sign-ins. Try again later.", {"retry_after_seconds": retry_after})


def record_failure(key: str, limit: int, now: float | None = None, max_lock_seconds: int = MAX_LOCK_SECONDS) -> bool:
    """Count one failure; returns True if this failure locked the key."""
    now = int(time.time() if now is None else now)
    item = models.LoginThrottleItem(key, "LOGIN")
    cutoff = now - WINDOW_SECONDS
    for _ in range(3):  # another failure may open a new window between our two attempts
        try:
            item.update(
                actions=[models.LoginThrottleItem.failures.add(1), models.LoginThrottleItem.expires_at.set(now + KEEP_SECONDS)],
                condition=models.LoginThrottleItem.window_start >= cutoff,
            )
            break
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
        try:
            item.update(
                actions=[
                    models.LoginThrottleItem.failures.set(1),
                    models.LoginThrottleItem.window_start.set(now),
                    models.LoginThrottleItem.expires_at.set(now + KEEP_SECONDS),
                ],
                condition=models.LoginThrottleItem.window_start.does_not_exist() | (models.LoginThrottleItem.window_start < cutoff),
            )
            break
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
    if item.failures < limit:
        return False
    lockouts = int(item.lockouts or 0)
    try:
        item.update(
            actions=[
                models.LoginThrottleItem.locked_until.set(now + lock_seconds(lockouts, max_lock_seconds)),
                models.LoginThrottleItem.lockouts.add(1),
                models.LoginThrottleItem.failures.set(0),
                models.LoginThrottleItem.window_start.set(now),
                models.LoginThrottleItem.expires_at.set(now + KEEP_SECONDS),
            ],
            # Exactly one concurrent failure locks, and failures of requests that passed the check
            # just before the lock do not stack a second lock-out on top of it.
            condition=(models.LoginThrottleItem.failures >= limit)
            & (models.LoginThrottleItem.locked_until.does_not_exist() | (models.LoginThrottleItem.locked_until <= now)),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def clear(key: str) -> None:
    """A successful sign-in forgets the pair's failures (not its lock-out history's back-off)."""
    try:
        models.LoginThrottleItem(key, "LOGIN").update(
            actions=[models.LoginThrottleItem.failures.set(0)],
            condition=models.LoginThrottleItem.pk.exists(),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
