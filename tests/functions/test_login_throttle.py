"""Login throttling per client address and its growing back-off (handler and logic level, on the local stack)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

# Handler modules bind their table names at import (as in Lambda, where the environment is set
# first), so they are imported inside the tests, after the local stack has set the environment.

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "identity" / "login.json").read_text())


def _login_from(local_stack, ip: str, email: str) -> int:
    event = copy.deepcopy(EVENT)
    event["requestContext"]["identity"]["sourceIp"] = ip
    event["body"] = json.dumps({"email": email, "password": "Wrong-Passw0rd!"})
    function = next(r.function_name for r in local_stack.gateway.routes if r.resource_path.endswith("/auth/login"))
    return local_stack.runtime.invoke(function, event)["statusCode"]


def test_one_ip_guessing_across_many_emails_is_stopped(local_stack):
    # GIVEN an address that tries a different email each time (password spraying)
    from functions.identity import throttle

    ip, other_ip = "198.51.100.23", "198.51.100.24"
    limit = throttle.address_limit()
    statuses = [_login_from(local_stack, ip, f"spray.{i}.{uuid.uuid4().hex[:6]}@example.com") for i in range(limit)]
    # THEN every attempt is a plain 401 until the IP's limit, then the IP is locked out
    assert statuses == [401] * limit
    assert _login_from(local_stack, ip, f"fresh.{uuid.uuid4().hex[:6]}@example.com") == 429
    # AND other addresses are unaffected
    assert _login_from(local_stack, other_ip, f"fresh.{uuid.uuid4().hex[:6]}@example.com") == 401


def test_each_lockout_lasts_twice_as_long_as_the_one_before(local_stack):
    from functions.identity import throttle
    assert [throttle.lock_seconds(n) for n in range(7)] == [60, 120, 240, 480, 960, 1920, 3600]
    # An email tried from one address is locked for at most 15 minutes (its owner elsewhere never)
    assert [throttle.lock_seconds(n, throttle.MAX_PAIR_LOCK_SECONDS) for n in range(6)] == [60, 120, 240, 480, 900, 900]
    key = throttle.pair_key(f"backoff.{uuid.uuid4().hex}@example.com", "198.51.100.7")
    now = 1_800_000_000
    # First lock: 5 failures within the window
    assert [throttle.record_failure(key, 5, now=now + i) for i in range(5)] == [False] * 4 + [True]
    from functions.identity.store import get_throttle

    first = get_throttle(key)
    assert first.locked_until == now + 4 + 60 and first.lockouts == 1
    # After it expires, 5 more failures lock for twice as long
    later = now + 4 + 61
    assert [throttle.record_failure(key, 5, now=later + i) for i in range(5)] == [False] * 4 + [True]
    second = get_throttle(key)
    assert second.locked_until == later + 4 + 120 and second.lockouts == 2
    # Counters expire by TTL a day after the last failure (so they work across Lambda instances
    # without growing forever)
    assert second.expires_at == later + 4 + throttle.KEEP_SECONDS


def test_failures_spread_over_more_than_a_minute_do_not_lock(local_stack):
    from functions.identity import throttle
    key = throttle.pair_key(f"slow.{uuid.uuid4().hex}@example.com", "198.51.100.7")
    now = 1_800_000_000
    assert not any(throttle.record_failure(key, 5, now=now + i * 20) for i in range(10))
