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

`metered(wcu, rules="aws")` (ADR 0051) swaps that per-item model for DynamoDB's documented rules:
throughput per PARTITION (`wcu` WCU/s and, unless given, 3 x `wcu` RCU/s: AWS's 1,000 / 3,000
scaled down; items that share a partition key share it), reads metered too (GetItem and
BatchGetItem 1 RCU per 4 KB strongly consistent, half eventually; TransactGetItems 2 per 4 KB),
writes 1 WCU per KB (transactional 2), and the three conflict rules: a single write against an
item in an ongoing transaction (TransactionConflictException), an item in two ongoing
transactions, a TransactGetItems item with any write in flight, single writes included
(cancelled with TransactionConflict). A single request over its partition's capacity gets
ProvisionedThroughputExceededException (ThrottlingReasons Table{Read,Write}KeyRangeThroughput-
Exceeded, as on-demand tables answer a hot partition); a transaction is cancelled with
ThrottlingError for the item. Query, Scan and GSIs are not metered.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TRANSACTION_WCU = 2  # per item and KB; items here are small: one KB
SINGLE_WCU = 1
METERED_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}

# ADR 0051: DynamoDB's documented rules ("aws"), next to ADR 0023's per-item model ("item").
RULES_ITEM = "item"
RULES_AWS = "aws"
AWS_PARTITION_WCU = 1000  # per partition and second
AWS_PARTITION_RCU = 3000
RCU_PER_WCU = AWS_PARTITION_RCU / AWS_PARTITION_WCU  # a scaled-down model keeps AWS's ratio
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTION_RCU = 2  # per item and 4 KB (a strongly consistent read costs 1, an eventual one 0.5)
READ_ACTIONS = {"GetItem", "BatchGetItem", "TransactGetItems"}
AWS_METERED_ACTIONS = METERED_ACTIONS | READ_ACTIONS
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
THROTTLED_MESSAGE = "Throughput exceeds the current capacity of your table or index."

_request = threading.local()


@dataclass
class _ItemState:
    tokens: float
    refilled_at: float
    busy_until: float = 0.0  # in an ongoing transaction until then
    writing_until: float = 0.0  # a single write in flight until then ("aws" rules)


@dataclass
class _PartitionState:
    wcu: float
    rcu: float
    refilled_at: float


def write_units(size_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def read_units(size_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / READ_UNIT_BYTES))


@dataclass
class Meter:
    wcu_per_item: float = 0.0
    transaction_ms: float | None = None
    items: dict[tuple[str, str], _ItemState] = field(default_factory=dict)
    conflicts: int = 0
    throttles: int = 0
    rules: str = RULES_ITEM
    rcu_per_partition: float = 0.0  # "aws" rules; wcu_per_item is then WCU per partition
    partitions: dict[tuple[str, str], _PartitionState] = field(default_factory=dict)
    read_conflicts: int = 0  # TransactGetItems items cancelled by a write in flight ("aws")
    read_throttles: int = 0
    clock: Callable[[], float] = time.monotonic  # tests may stop it (no refill between calls)

    @property
    def on(self) -> bool:
        return self.wcu_per_item > 0

    @property
    def aws(self) -> bool:
        return self.on and self.rules == RULES_AWS

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
        now = self.clock()
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
        now = self.clock()
        state = self._state(identity, now)
        if state.busy_until > now:
            self.conflicts += 1
            return "TransactionConflictException"
        if state.tokens < SINGLE_WCU:
            self.throttles += 1
            return "ThrottlingException"
        state.tokens -= SINGLE_WCU
        return None

    # -- "aws" rules (ADR 0051): partitions, reads, the three conflict rules -------------------

    @property
    def wcu_burst(self) -> float:
        return max(self.wcu_per_item, float(TRANSACTION_WCU))

    @property
    def rcu_burst(self) -> float:
        return max(self.rcu_per_partition, float(TRANSACTION_RCU))

    def _short(self, tokens: float, needed: float, burst: float) -> bool:
        """Short of capacity for `needed` units. A request bigger than the burst (a transaction
        of several items of one partition at a scaled-down limit: 3 items are 6 WCU, more than
        a 4 WCU/s partition holds) runs on a full bucket and leaves it in debt, as DynamoDB's
        1,000 WCU/s would take it at once; else it could never run."""
        return tokens < min(needed, burst)

    def _partition(self, partition: tuple[str, str], now: float) -> _PartitionState:
        wcu_burst, rcu_burst = self.wcu_burst, self.rcu_burst
        state = self.partitions.get(partition)
        if state is None:
            state = self.partitions[partition] = _PartitionState(wcu_burst, rcu_burst, now)
        else:
            elapsed = now - state.refilled_at
            state.wcu = min(wcu_burst, state.wcu + elapsed * self.wcu_per_item)
            state.rcu = min(rcu_burst, state.rcu + elapsed * self.rcu_per_partition)
            state.refilled_at = now
        return state

    def _item(self, identity: tuple[str, str]) -> _ItemState:
        state = self.items.get(identity)
        if state is None:
            state = self.items[identity] = _ItemState(tokens=0.0, refilled_at=0.0)
        return state

    def _in_flight_for(self, units: float) -> float:
        """How long a write of `units` WCU keeps its item in flight: the time its partition's
        capacity needs to absorb it (or LOCAL_DDB_TRANSACTION_MS's share of it)."""
        if self.transaction_ms is not None:
            return self.transaction_ms / 1000 * units / TRANSACTION_WCU
        return units / self.wcu_per_item

    def aws_transaction(self, entries: list[tuple[tuple[str, str], tuple[str, str], int]],
                        ) -> list[tuple[str | None, str | None]] | None:
        """TransactWriteItems of (item, partition, size in bytes) entries: reasons per item if
        cancelled (an item in another ongoing transaction: TransactionConflict; its partition
        short of WCU: ThrottlingError), else None (charged 2 WCU per KB, items in flight)."""
        now = self.clock()
        needed: dict[tuple[str, str], float] = {}
        for _, partition, size in entries:
            needed[partition] = needed.get(partition, 0.0) + TRANSACTION_WCU * write_units(size)
        reasons: list[tuple[str | None, str | None]] = []
        for identity, partition, _ in entries:
            if self._item(identity).busy_until > now:
                reasons.append(("TransactionConflict", CONFLICT_MESSAGE))
            elif self._short(self._partition(partition, now).wcu, needed[partition], self.wcu_burst):
                reasons.append(("ThrottlingError", THROTTLED_MESSAGE))
            else:
                reasons.append((None, None))
        if any(code for code, _ in reasons):
            self.conflicts += sum(1 for code, _ in reasons if code == "TransactionConflict")
            self.throttles += sum(1 for code, _ in reasons if code == "ThrottlingError")
            return reasons
        longest = 0.0
        for _, partition, size in entries:
            units = TRANSACTION_WCU * write_units(size)
            self.partitions[partition].wcu -= units
            longest = max(longest, self._in_flight_for(units))
        for identity, _, _ in entries:
            self._item(identity).busy_until = now + longest
        _request.in_flight_until = now + longest
        return None

    def aws_single_write(self, identity: tuple[str, str], partition: tuple[str, str], size: int) -> str | None:
        """PutItem / UpdateItem / DeleteItem: the error code if refused (the item in an ongoing
        transaction; its partition short of WCU), else None (charged, the write in flight)."""
        now = self.clock()
        if self._item(identity).busy_until > now:
            self.conflicts += 1
            return "TransactionConflictException"
        units = SINGLE_WCU * write_units(size)
        state = self._partition(partition, now)
        if self._short(state.wcu, units, self.wcu_burst):
            self.throttles += 1
            return "ProvisionedThroughputExceededException"
        state.wcu -= units
        self._item(identity).writing_until = now + self._in_flight_for(units)
        _request.in_flight_until = self._item(identity).writing_until
        return None

    def aws_read(self, partition: tuple[str, str], size: int, consistent: bool, refuse: bool = True) -> bool:
        """GetItem / BatchGetItem of one item: False if its partition is short of RCU (and
        `refuse`), else True (charged 1 RCU per 4 KB, half for an eventually consistent read)."""
        units = read_units(size) * (1.0 if consistent else 0.5)
        state = self._partition(partition, self.clock())
        if refuse and self._short(state.rcu, units, self.rcu_burst):
            self.read_throttles += 1
            return False
        state.rcu -= units
        return True

    def aws_transact_get(self, entries: list[tuple[tuple[str, str], tuple[str, str], int]],
                         ) -> list[tuple[str | None, str | None]] | None:
        """TransactGetItems: reasons per item if cancelled (any write in flight on the item,
        a transaction's or a single one: TransactionConflict; its partition short of RCU:
        ThrottlingError), else None (charged 2 RCU per 4 KB)."""
        now = self.clock()
        needed: dict[tuple[str, str], float] = {}
        for _, partition, size in entries:
            needed[partition] = needed.get(partition, 0.0) + TRANSACTION_RCU * read_units(size)
        reasons: list[tuple[str | None, str | None]] = []
        for identity, partition, _ in entries:
            item = self.items.get(identity)
            if item is not None and max(item.busy_until, item.writing_until) > now:
                reasons.append(("TransactionConflict", CONFLICT_MESSAGE))
            elif self._short(self._partition(partition, now).rcu, needed[partition], self.rcu_burst):
                reasons.append(("ThrottlingError", THROTTLED_MESSAGE))
            else:
                reasons.append((None, None))
        if any(code for code, _ in reasons):
            self.read_conflicts += sum(1 for code, _ in reasons if code == "TransactionConflict")
            self.read_throttles += sum(1 for code, _ in reasons if code == "ThrottlingError")
            return reasons
        for _, partition, size in entries:
            self.partitions[partition].rcu -= TRANSACTION_RCU * read_units(size)
        return None


METER = Meter()


def configure(wcu_per_item: float | None, transaction_ms: float | None = None, rules: str = RULES_ITEM,
              rcu_per_partition: float | None = None) -> None:
    """Switch metering on (a positive WCU per second: per item with the "item" rules, per
    partition with the "aws" rules) or off (None/0); resets the state."""
    if rules not in (RULES_ITEM, RULES_AWS):
        raise ValueError(f"capacity rules are {RULES_ITEM!r} or {RULES_AWS!r}, not {rules!r}")
    METER.wcu_per_item = float(wcu_per_item or 0)
    METER.transaction_ms = transaction_ms
    METER.rules = rules
    METER.rcu_per_partition = float(rcu_per_partition) if rcu_per_partition else RCU_PER_WCU * METER.wcu_per_item
    METER.clock = time.monotonic
    METER.items.clear()
    METER.partitions.clear()
    METER.conflicts = METER.throttles = METER.read_conflicts = METER.read_throttles = 0


def configure_from_environment() -> None:
    raw = os.environ.get("LOCAL_DDB_CAPACITY_WCU_PER_ITEM", "")
    ms = os.environ.get("LOCAL_DDB_TRANSACTION_MS", "")
    partition = os.environ.get("LOCAL_DDB_CAPACITY_WCU_PER_PARTITION", "")  # the "aws" rules (ADR 0051)
    if partition:
        configure(float(partition), float(ms) if ms else None, RULES_AWS)
    else:
        configure(float(raw) if raw else None, float(ms) if ms else None)


@contextlib.contextmanager
def metered(wcu_per_item: float, transaction_ms: float | None = None, *, rules: str = RULES_ITEM,
            rcu_per_partition: float | None = None) -> Iterator[Meter]:
    """Metering on for the block (tests, the benchmark); back to what it was afterwards.
    `rules="aws"`: DynamoDB's documented rules (ADR 0051), `wcu_per_item` then per partition."""
    previous = (METER.wcu_per_item, METER.transaction_ms, METER.rules,
                METER.rcu_per_partition if METER.rules == RULES_AWS else None)
    configure(wcu_per_item, transaction_ms, rules, rcu_per_partition)
    try:
        yield METER
    finally:
        configure(*previous)


# -- the hooks moto_patches.py installs ---------------------------------------------------------


@contextlib.contextmanager
def request(action: str, handler: Any = None) -> Iterator[None]:
    """Marks the DynamoDB API request being handled on this thread (metered if a write, or a
    read under the "aws" rules); `handler`: moto's handler, whose body says ConsistentRead."""
    previous = (getattr(_request, "action", None), getattr(_request, "in_flight_until", None),
                getattr(_request, "handler", None))
    _request.action, _request.in_flight_until, _request.handler = action, None, handler
    try:
        yield
    finally:
        _request.action, _request.in_flight_until, _request.handler = previous


def consistent_read(table_name: str) -> bool:
    """Whether the GetItem / BatchGetItem being handled asks for a strongly consistent read."""
    body = getattr(getattr(_request, "handler", None), "body", None)
    if not isinstance(body, dict):
        return False
    if getattr(_request, "action", None) == "BatchGetItem":
        body = (body.get("RequestItems") or {}).get(table_name) or {}
    return bool(body.get("ConsistentRead"))


def wait_while_in_flight() -> None:
    """Sleep (outside the DynamoDB lock) until the transaction this request ran is no longer in
    flight, so the call takes the time the item is busy for."""
    until = getattr(_request, "in_flight_until", None)
    if until is not None:
        time.sleep(max(0.0, until - time.monotonic()))


def metering(action: str) -> bool:
    if not METER.on or getattr(_request, "action", None) != action:
        return False
    return action in (AWS_METERED_ACTIONS if METER.rules == RULES_AWS else METERED_ACTIONS)


def partition_of(table_name: str, hash_value: Any) -> tuple[str, str]:
    """A partition of the "aws" rules: a table's items that share a partition key value."""
    return str(table_name), str(hash_value)


def attribute_size(value: Any) -> int:
    """Bytes of an item as the API sends it (names and values; close to DynamoDB's sizing)."""
    if isinstance(value, dict):
        return sum(len(str(name).encode()) + attribute_size(inner) for name, inner in value.items())
    if isinstance(value, list | tuple):
        return sum(attribute_size(inner) for inner in value)
    if isinstance(value, str):
        return len(value.encode())
    return len(str(value))


def item_identity(table_name: str, key: dict[str, Any]) -> tuple[str, str]:
    return str(table_name), str(sorted((name, str(value)) for name, value in key.items()))


def check_transaction(identities: list[tuple[str, str]],
                      placed: list[tuple[tuple[str, str], int]] | None = None) -> list[tuple[Any, Any, Any]] | None:
    """moto-shaped cancellation reasons if the metered transaction cannot run now. `placed`:
    each item's (partition, size in bytes), for the "aws" rules."""
    if not metering("TransactWriteItems"):
        return None
    if METER.aws:
        if placed is None or len(placed) != len(identities):
            return None
        reasons = METER.aws_transaction([(identity, partition, size) for identity, (partition, size)
                                         in zip(identities, placed, strict=True)])
    else:
        reasons = METER.transaction(identities)
    if reasons is None:
        return None
    return [(code, message, None) for code, message in reasons]


def check_single(action: str, table_name: str, key: dict[str, Any], hash_key: str | None = None,
                 size: int = 0) -> None:
    if not metering(action):
        return
    identity = item_identity(table_name, key)
    if METER.aws:
        if hash_key is None or hash_key not in key:
            return
        code = METER.aws_single_write(identity, partition_of(table_name, key[hash_key]), size)
        if code is not None:
            raise CapacityError(code, "Write")
        return
    code = METER.single(identity)
    if code is not None:
        raise CapacityError(code)


def check_read(action: str, table_name: str, hash_value: Any, size: int, consistent: bool) -> None:
    """GetItem / BatchGetItem of one item: refused when its partition is short of RCU. For a
    BatchGetItem that is DynamoDB's answer when none of its keys can be read; when only some
    cannot, DynamoDB returns those as UnprocessedKeys, which this model does not (it refuses the
    whole request, the keys read before charged)."""
    if not METER.aws or not metering(action) or action == "TransactGetItems":
        return
    if not METER.aws_read(partition_of(table_name, hash_value), size, consistent):
        raise CapacityError("ProvisionedThroughputExceededException", "Read")


def check_transact_get(entries: list[tuple[tuple[str, str], tuple[str, str], int]]) -> list[tuple[Any, Any, Any]] | None:
    """moto-shaped cancellation reasons if a TransactGetItems cannot run now ("aws" rules)."""
    if not (METER.aws and metering("TransactGetItems")):
        return None
    reasons = METER.aws_transact_get(entries)
    if reasons is None:
        return None
    return [(code, message, None) for code, message in reasons]


def _capacity_error_base() -> type:
    import json

    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    class _CapacityError(DynamodbException):
        def __init__(self, code: str, operation: str | None = None) -> None:
            message = CONFLICT_MESSAGE if code == "TransactionConflictException" else THROTTLED_MESSAGE
            super().__init__(ERROR_TYPE_PREFIX + code, message=message)
            if code == "ProvisionedThroughputExceededException" and operation:
                # A hot partition of an on-demand table (ADR 0051): the reason DynamoDB names.
                self.description = json.dumps({
                    "__type": self.error_type, "message": message,
                    "ThrottlingReasons": [{"reason": f"Table{operation}KeyRangeThroughputExceeded", "resource": ""}],
                })

    return _CapacityError


class _LazyCapacityError:
    _cls: type | None = None

    def __call__(self, code: str, operation: str | None = None) -> Exception:
        if self._cls is None:
            type(self)._cls = _capacity_error_base()
        return self._cls(code, operation)  # type: ignore[misc]


CapacityError = _LazyCapacityError()


def wcu_cost(size_bytes: int, transactional: bool) -> int:
    """WCU of one item write (for documentation and the benchmark's AWS estimate)."""
    return max(1, math.ceil(size_bytes / 1024)) * (TRANSACTION_WCU if transactional else SINGLE_WCU)
