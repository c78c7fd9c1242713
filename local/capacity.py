"""Per-item write capacity for the local DynamoDB (ADR 0023): off unless switched on.

DynamoDB gives one item at most 1,000 WCU/s, a transactional write costs 2 WCU per KB, and two
transactions that touch one item at the same time: one is cancelled with `TransactionConflict`.
moto has none of this, and the local stack's lock (local-aws-notes point 1) even serialises every
request, so a hot item never conflicts here. With the switch on, every metered write

- reserves each item it writes for a simulated in-flight time (`transaction_ms`, by default the
  time the item's capacity needs to absorb one transactional write, 2 WCU / rate): another
  transaction touching the item meanwhile is cancelled with `TransactionConflict` for that item,
  a single write gets `TransactionConflictException`;
- spends WCU from the item's token bucket (refilled at `wcu_per_item` per second, one second of
  burst): short of it, a transaction is cancelled with `ThrottlingError`, a single write gets
  `ThrottlingException` (which the SDK retries itself).

Switch: env `LOCAL_DDB_CAPACITY_WCU_PER_ITEM` (0/unset = off), `LOCAL_DDB_TRANSACTION_MS`
(optional), read when the patches are applied; tests and the benchmark use `metered(...)`.
Only requests that arrive as DynamoDB API calls are metered (not the local TTL sweeper's
deletes), and only writes: this is about the hot-item write limit.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TRANSACTION_WCU = 2  # per item and KB; items here are small: one KB
SINGLE_WCU = 1
METERED_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}

_request = threading.local()


@dataclass
class _ItemState:
    tokens: float
    refilled_at: float
    busy_until: float = 0.0


@dataclass
class Meter:
    wcu_per_item: float = 0.0
    transaction_ms: float | None = None
    items: dict[tuple[str, str], _ItemState] = field(default_factory=dict)
    conflicts: int = 0
    throttles: int = 0

    @property
    def on(self) -> bool:
        return self.wcu_per_item > 0

    @property
    def in_flight_seconds(self) -> float:
        if self.transaction_ms is not None:
            return self.transaction_ms / 1000
        return TRANSACTION_WCU / self.wcu_per_item

    @property
    def burst(self) -> float:
        """One second of the limit, and never less than one transactional write."""
        return max(self.wcu_per_item, float(TRANSACTION_WCU))

    def _state(self, identity: tuple[str, str], now: float) -> _ItemState:
        state = self.items.get(identity)
        if state is None:
            state = self.items[identity] = _ItemState(tokens=self.burst, refilled_at=now)
        else:
            state.tokens = min(self.burst, state.tokens + (now - state.refilled_at) * self.wcu_per_item)
            state.refilled_at = now
        return state

    def transaction(self, identities: list[tuple[str, str]]) -> list[tuple[str | None, str | None]] | None:
        """Cancellation reasons (code, message) per item if the transaction cannot run now, else
        None (and its items are charged and marked in flight). Called under the DynamoDB lock."""
        now = time.monotonic()
        reasons: list[tuple[str | None, str | None]] = []
        for identity in identities:
            state = self._state(identity, now)
            if state.busy_until > now:
                reasons.append(("TransactionConflict", "Transaction is ongoing for the item"))
            elif state.tokens < TRANSACTION_WCU:
                reasons.append(("ThrottlingError", "Throughput exceeds the current capacity for one or more items."))
            else:
                reasons.append((None, None))
        if any(code for code, _ in reasons):
            self.conflicts += sum(1 for code, _ in reasons if code == "TransactionConflict")
            self.throttles += sum(1 for code, _ in reasons if code == "ThrottlingError")
            return reasons
        for identity in identities:
            state = self.items[identity]
            state.tokens -= TRANSACTION_WCU
            state.busy_until = now + self.in_flight_seconds
        # Its caller hears back once it committed (wait_while_in_flight), as from DynamoDB: it
        # cannot conflict with its own next write, only other writers can.
        _request.in_flight_until = now + self.in_flight_seconds
        return None

    def single(self, identity: tuple[str, str]) -> str | None:
        """The error code for a single write that cannot run now, else None (charged)."""
        now = time.monotonic()
        state = self._state(identity, now)
        if state.busy_until > now:
            self.conflicts += 1
            return "TransactionConflictException"
        if state.tokens < SINGLE_WCU:
            self.throttles += 1
            return "ThrottlingException"
        state.tokens -= SINGLE_WCU
        return None


METER = Meter()


def configure(wcu_per_item: float | None, transaction_ms: float | None = None) -> None:
    """Switch metering on (a positive WCU per item per second) or off (None/0); resets the state."""
    METER.wcu_per_item = float(wcu_per_item or 0)
    METER.transaction_ms = transaction_ms
    METER.items.clear()
    METER.conflicts = METER.throttles = 0


def configure_from_environment() -> None:
    raw = os.environ.get("LOCAL_DDB_CAPACITY_WCU_PER_ITEM", "")
    ms = os.environ.get("LOCAL_DDB_TRANSACTION_MS", "")
    configure(float(raw) if raw else None, float(ms) if ms else None)


@contextlib.contextmanager
def metered(wcu_per_item: float, transaction_ms: float | None = None) -> Iterator[Meter]:
    """Metering on for the block (tests, the benchmark); back to what it was afterwards."""
    previous = (METER.wcu_per_item, METER.transaction_ms)
    configure(wcu_per_item, transaction_ms)
    try:
        yield METER
    finally:
        configure(*previous)


# -- the hooks moto_patches.py installs ---------------------------------------------------------


@contextlib.contextmanager
def request(action: str) -> Iterator[None]:
    """Marks the DynamoDB API request being handled on this thread (metered if a write)."""
    previous = getattr(_request, "action", None), getattr(_request, "in_flight_until", None)
    _request.action, _request.in_flight_until = action, None
    try:
        yield
    finally:
        _request.action, _request.in_flight_until = previous


def wait_while_in_flight() -> None:
    """Sleep (outside the DynamoDB lock) until the transaction this request ran is no longer in
    flight, so the call takes the time the item is busy for."""
    until = getattr(_request, "in_flight_until", None)
    if until is not None:
        time.sleep(max(0.0, until - time.monotonic()))


def metering(action: str) -> bool:
    return METER.on and getattr(_request, "action", None) == action and action in METERED_ACTIONS


def item_identity(table_name: str, key: dict[str, Any]) -> tuple[str, str]:
    return str(table_name), str(sorted((name, str(value)) for name, value in key.items()))


def check_transaction(identities: list[tuple[str, str]]) -> list[tuple[Any, Any, Any]] | None:
    """moto-shaped cancellation reasons if the metered transaction cannot run now."""
    if not metering("TransactWriteItems"):
        return None
    reasons = METER.transaction(identities)
    if reasons is None:
        return None
    return [(code, message, None) for code, message in reasons]


def check_single(action: str, table_name: str, key: dict[str, Any]) -> None:
    if not metering(action):
        return
    code = METER.single(item_identity(table_name, key))
    if code is not None:
        raise CapacityError(code)


def _capacity_error_base() -> type:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    class _CapacityError(DynamodbException):
        def __init__(self, code: str) -> None:
            message = ("Transaction is ongoing for the item" if code == "TransactionConflictException"
                       else "Throughput exceeds the current capacity of your table or index.")
            super().__init__(ERROR_TYPE_PREFIX + code, message=message)

    return _CapacityError


class _LazyCapacityError:
    _cls: type | None = None

    def __call__(self, code: str) -> Exception:
        if self._cls is None:
            type(self)._cls = _capacity_error_base()
        return self._cls(code)  # type: ignore[misc]


CapacityError = _LazyCapacityError()


def wcu_cost(size_bytes: int, transactional: bool) -> int:
    """WCU of one item write (for documentation and the benchmark's AWS estimate)."""
    return max(1, math.ceil(size_bytes / 1024)) * (TRANSACTION_WCU if transactional else SINGLE_WCU)
