"""DynamoDB's capacity answers for a busy item, retried with jitter, then a clear 503.

On AWS a write can be refused because another transaction is in flight on one of its items
(`TransactionConflict` as a cancellation reason, `TransactionConflictException` for a single
write) or because an item is out of write capacity (`ThrottlingError` / `ThrottlingException` /
`ProvisionedThroughputExceededException`). Neither changed anything, so the same request can
simply be sent again; a condition failure is an answer, and is never retried here. The local
stack raises all of these with its metering switch on (local/capacity.py, ADR 0023).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from shared.errors import ServiceUnavailable
from shared.tables import error_code

T = TypeVar("T")
BUSY_CODES = {"TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException",
              "RequestLimitExceeded"}
BUSY_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
ATTEMPTS = 6
BASE_BACKOFF_SECONDS = 0.02


def reason_codes(exc: BaseException) -> list[str]:
    """A cancelled transaction's reason codes, from botocore or pynamodb ("None" for an item that was fine)."""
    reasons = getattr(exc, "cancellation_reasons", None)
    if reasons is not None:  # pynamodb's TransactWriteError
        return [getattr(reason, "code", None) or "None" for reason in reasons]
    return [reason.get("Code", "None") for reason in getattr(exc, "response", {}).get("CancellationReasons", [])]


def is_busy(exc: BaseException) -> bool:
    """True when DynamoDB refused only for capacity or a conflicting transaction (nothing failed a condition)."""
    code = error_code(exc)
    if code in BUSY_CODES:
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = reason_codes(exc)
    return any(reason in BUSY_REASONS for reason in reasons) and "ConditionalCheckFailed" not in reasons


def retry_when_busy(call: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`call()`, sent again (jittered exponential back-off) while DynamoDB says the item is busy;
    503 SERVICE_UNAVAILABLE when it stays busy. Any other error propagates at once."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_busy(exc):
                raise
            if attempt == attempts:
                raise ServiceUnavailable("This is very busy right now; try again.") from None
            time.sleep(random.uniform(0, BASE_BACKOFF_SECONDS * 2**attempt))
    raise AssertionError("unreachable")
