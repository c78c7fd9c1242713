"""Timeout budgets for every AWS SDK client (docs/decisions/0027-checkout-resilience.md).

botocore's defaults are a 60 s connect and 60 s read timeout with up to 3 attempts (pynamodb's:
15 s / 30 s, 4 attempts): a request path could hang for minutes on one slow dependency while
API Gateway gives up after 29 s and the function's own timeout is 10 s. Each client here has a
budget instead: connect and read timeouts per attempt and a bounded number of attempts
(botocore's "standard" retry mode: jittered back-off, a retry quota that stops retry storms).

A call's worst case is about attempts x (connect + read); README "Timeouts and budgets" adds
them up per request. TransactWriteItems retries are safe: botocore sends the same
ClientRequestToken on every attempt, so DynamoDB applies the transaction once.

SDK_TIMEOUT_SCALE (default 1) multiplies every timeout: the local stack sets it, because its
moto server shares two cores with the test suite and is far slower than DynamoDB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    connect_seconds: float
    read_seconds: float
    attempts: int  # in all, the first one included


# DynamoDB answers in single-digit milliseconds: half a second is a stalled connection or an
# overloaded partition, and one retry is what is worth trying within a request.
DYNAMODB = Budget(connect_seconds=0.5, read_seconds=0.5, attempts=2)
BUDGETS: dict[str, Budget] = {
    "dynamodb": DYNAMODB,
    # StartExecution is idempotent by execution name (functions/orders/checkout.py)
    "stepfunctions": Budget(connect_seconds=0.5, read_seconds=2.0, attempts=3),
    "secretsmanager": Budget(connect_seconds=0.5, read_seconds=2.0, attempts=3),  # once per cold start
    "cognito-idp": Budget(connect_seconds=0.5, read_seconds=3.0, attempts=2),  # sign-in hashes passwords: slower
    "s3": Budget(connect_seconds=0.5, read_seconds=2.0, attempts=2),
    # off the request path (the notification sender): more patience, the queue retries anyway
    "sesv2": Budget(connect_seconds=1.0, read_seconds=5.0, attempts=3),
    "events": Budget(connect_seconds=1.0, read_seconds=5.0, attempts=3),
}
OTHER = Budget(connect_seconds=1.0, read_seconds=5.0, attempts=3)  # a service not listed above


def scale() -> float:
    return float(os.environ.get("SDK_TIMEOUT_SCALE") or 1)


def budget(service: str) -> Budget:
    found = BUDGETS.get(service, OTHER)
    factor = scale()
    return Budget(found.connect_seconds * factor, found.read_seconds * factor, found.attempts)


def config(service: str) -> Any:
    """The botocore Config of `service`'s budget."""
    from botocore.config import Config

    chosen = budget(service)
    return Config(
        connect_timeout=chosen.connect_seconds,
        read_timeout=chosen.read_seconds,
        retries={"total_max_attempts": chosen.attempts, "mode": "standard"},
    )


def pynamodb_settings() -> dict[str, float | int]:
    """DynamoDB's budget in pynamodb's terms (a Connection's arguments, a Meta's attributes)."""
    chosen = budget("dynamodb")
    return {
        "connect_timeout_seconds": chosen.connect_seconds,
        "read_timeout_seconds": chosen.read_seconds,
        "max_retry_attempts": chosen.attempts - 1,
    }
