"""The one way to run a DynamoDB transaction (docs/decisions/0041-one-transaction-executor.md).

`write(items)` sends a TransactWriteItems, `read(gets)` a TransactGetItems. Both:

- check the request before sending it, and refuse with TransactionRequestError (a programming
  error, never sent): no items, more than MAX_ITEMS, two operations on one item (DynamoDB's
  ValidationException "Transaction request cannot include multiple operations on one item"),
  more than MAX_REQUEST_BYTES, a ClientRequestToken DynamoDB would refuse;
- send it again while DynamoDB says an item is busy (TransactionConflict, throttling: nothing
  was applied), with jittered exponential back-off, then raise 503 ServiceUnavailable;
- turn a failed condition into the caller's domain error. The caller names, per item, what a
  ConditionalCheckFailed on that item means:

      transactions.write([
          transactions.Put(table, order, condition="attribute_not_exists(pk)"),
          transactions.guard(stock_update, OutOfStock("Not enough stock.", {...})),
      ])

  or per index (`on_condition_failed={2: NotFound, 1: AlreadyExists}`: the mapping's order is
  the order of precedence when several items failed), or for any item
  (`on_condition_failed=ConditionFailed`). A value is an exception, or a zero-argument callable
  (an exception class, a lambda) that makes one. A cancellation nothing names (an unnamed
  item's condition, a validation error) re-raises DynamoDB's own error.

`retry_when_busy(call)` is the same busy policy for single-item writes (PutItem, UpdateItem,
DeleteItem), and `cancellation_reasons` / `is_busy` / `back_off` serve the few loops that read
and decide again themselves (a hold picks another stock bucket when one is busy). This module is
the only one that calls transact_write_items / transact_get_items or reads CancellationReasons
(tests/test_architecture_transactions.py).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.errors import ServiceUnavailable
from shared.tables import connection, error_code

T = TypeVar("T")

MAX_ITEMS = 100  # DynamoDB's limit per TransactWriteItems / TransactGetItems
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # the aggregate size of a transaction's items
MAX_TOKEN_LENGTH = 36  # ClientRequestToken: 1-36 characters
KEY_ATTRIBUTES = ("pk", "sk")  # every table's key (infra/tables.py): how a Put names its item

# The busy answers: nothing was applied, the same request can simply be sent again.
BUSY_CODES = {"TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException",
              "RequestLimitExceeded"}
BUSY_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
CONDITION_FAILED = "ConditionalCheckFailed"
CANCELLED = "TransactionCanceledException"
ATTEMPTS = 6  # in all, the first one included
BASE_BACKOFF_SECONDS = 0.02
MAX_BACKOFF_EXPONENT = 6
BUSY_MESSAGE = "This is very busy right now; try again."

ErrorFactory = Callable[[], BaseException]
OnConditionFailed = BaseException | ErrorFactory


class TransactionRequestError(ValueError):
    """A transaction DynamoDB would refuse as built (a programming error): never sent."""


class ConditionFailed(Exception):
    """A plain "a condition failed" signal, for callers that read again and decide anew:
    `write(items, on_condition_failed=ConditionFailed)` then `except ConditionFailed`."""


# -- building ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One TransactItems entry ({"Put": {...}} as DynamoDB takes it) and the error a failed
    condition on it means (None: not named here)."""

    request: dict[str, Any]
    on_condition_failed: OnConditionFailed | None = None


def guard(request: Mapping[str, Any], on_condition_failed: OnConditionFailed) -> Op:
    """An entry built elsewhere (another service's ConditionCheck, a ledger Put), with the error
    its failed condition means."""
    return Op(dict(request), on_condition_failed)


def _expression(condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if condition:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = dict(names)
    if values:
        body["ExpressionAttributeValues"] = dict(values)
    return body


def Put(table: str, item: Mapping[str, Any], *, condition: str | None = None, names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None, on_condition_failed: OnConditionFailed | None = None) -> Op:
    return Op({"Put": {"TableName": table, "Item": dict(item), **_expression(condition, names, values)}}, on_condition_failed)


def Update(table: str, key: Mapping[str, Any], update: str, *, condition: str | None = None,
           names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
           on_condition_failed: OnConditionFailed | None = None) -> Op:
    return Op({"Update": {"TableName": table, "Key": dict(key), "UpdateExpression": update,
                          **_expression(condition, names, values)}}, on_condition_failed)


def Delete(table: str, key: Mapping[str, Any], *, condition: str | None = None, names: Mapping[str, str] | None = None,
           values: Mapping[str, Any] | None = None, on_condition_failed: OnConditionFailed | None = None) -> Op:
    return Op({"Delete": {"TableName": table, "Key": dict(key), **_expression(condition, names, values)}}, on_condition_failed)


def ConditionCheck(table: str, key: Mapping[str, Any], condition: str, *, names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None, on_condition_failed: OnConditionFailed | None = None) -> Op:
    return Op({"ConditionCheck": {"TableName": table, "Key": dict(key), **_expression(condition, names, values)}},
              on_condition_failed)


def Get(table: str, key: Mapping[str, Any], *, projection: str | None = None,
        names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A TransactGetItems entry."""
    body: dict[str, Any] = {"TableName": table, "Key": dict(key)}
    if projection:
        body["ProjectionExpression"] = projection
    if names:
        body["ExpressionAttributeNames"] = dict(names)
    return {"Get": body}


# -- checks before sending ---------------------------------------------------------------------


def _size(value: Any) -> int:
    """Bytes of attribute names and values, as DynamoDB sizes items (type tags count a byte)."""
    if isinstance(value, Mapping):
        return sum(len(str(name).encode()) + _size(inner) for name, inner in value.items())
    if isinstance(value, list | tuple):
        return sum(_size(inner) for inner in value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    return len(str(value))


def _identity(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    if len(entry) != 1:
        raise TransactionRequestError(f"a transaction item has exactly one operation, not {sorted(entry)}")
    body = next(iter(entry.values()))
    key = body.get("Key")
    if key is None and "Item" in body:
        key = {name: body["Item"][name] for name in KEY_ATTRIBUTES if name in body["Item"]}
    if not key:
        return None
    return str(body.get("TableName")), json.dumps(key, sort_keys=True, default=repr)


def check_request(entries: Sequence[Mapping[str, Any]], token: str | None = None) -> None:
    """Raise TransactionRequestError for a request DynamoDB would refuse as built."""
    if not entries:
        raise TransactionRequestError("a transaction needs at least one item")
    if len(entries) > MAX_ITEMS:
        raise TransactionRequestError(f"{len(entries)} items exceed one transaction ({MAX_ITEMS} at most); split it")
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        identity = _identity(entry)
        if identity is None:
            continue
        if identity in seen:
            raise TransactionRequestError(
                "Transaction request cannot include multiple operations on one item: "
                f"items {seen[identity]} and {index} both name {identity[0]} {identity[1]}")
        seen[identity] = index
    size = _size(entries)
    if size > MAX_REQUEST_BYTES:
        raise TransactionRequestError(f"the transaction's items are {size} bytes, over DynamoDB's {MAX_REQUEST_BYTES}")
    if token is not None and not 1 <= len(token) <= MAX_TOKEN_LENGTH:
        raise TransactionRequestError(f"a ClientRequestToken has 1-{MAX_TOKEN_LENGTH} characters, not {len(token)}")


# -- DynamoDB's answers --------------------------------------------------------------------------


def cancellation_reasons(exc: BaseException) -> list[str]:
    """A cancelled transaction's reason codes, one per item in request order ("None": that item
    was fine); [] for any other error."""
    if error_code(exc) != CANCELLED:
        return []
    return [reason.get("Code") or "None" for reason in getattr(exc, "response", {}).get("CancellationReasons", [])]


def is_busy(exc: BaseException) -> bool:
    """True when DynamoDB refused only for capacity or a conflicting transaction (nothing failed
    a condition): the same request may simply be sent again."""
    code = error_code(exc)
    if code in BUSY_CODES:
        return True
    reasons = cancellation_reasons(exc)
    return any(reason in BUSY_REASONS for reason in reasons) and CONDITION_FAILED not in reasons


def back_off(attempt: int) -> None:
    """Sleep before attempt `attempt + 1`: jittered, doubling per attempt (0: one base step)."""
    time.sleep(random.uniform(0, BASE_BACKOFF_SECONDS * 2 ** min(attempt, MAX_BACKOFF_EXPONENT)))


def retry_when_busy(call: Callable[[], T], attempts: int = ATTEMPTS, busy_message: str = BUSY_MESSAGE) -> T:
    """`call()`, sent again (jittered exponential back-off) while DynamoDB says the item is busy;
    503 SERVICE_UNAVAILABLE when it stays busy. Any other error propagates at once."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_busy(exc):
                raise
            if attempt == attempts:
                raise ServiceUnavailable(busy_message) from None
            back_off(attempt)
    raise AssertionError("unreachable")


# -- the executor --------------------------------------------------------------------------------


def _client() -> Any:
    return connection().client


def _handlers(ops: Sequence[Op], on_condition_failed: Mapping[int, OnConditionFailed] | OnConditionFailed | None,
              ) -> list[tuple[int | None, OnConditionFailed]]:
    """(item index or None for any item, error) in order of precedence: the call's mapping in its
    own order, then each item's own in request order, then the call's error for any item."""
    handlers: list[tuple[int | None, OnConditionFailed]] = []
    if isinstance(on_condition_failed, Mapping):
        for index, error in on_condition_failed.items():
            if not 0 <= index < len(ops):
                raise TransactionRequestError(f"on_condition_failed names item {index} of {len(ops)}")
            handlers.append((index, error))
    handlers += [(index, op.on_condition_failed) for index, op in enumerate(ops) if op.on_condition_failed is not None]
    if on_condition_failed is not None and not isinstance(on_condition_failed, Mapping):
        handlers.append((None, on_condition_failed))
    return handlers


def _domain_error(reasons: list[str], handlers: Iterable[tuple[int | None, OnConditionFailed]]) -> BaseException | None:
    failed = {index for index, reason in enumerate(reasons) if reason == CONDITION_FAILED}
    for index, error in handlers:
        if (index is None and failed) or index in failed:
            return error if isinstance(error, BaseException) else error()
    return None


def _attempt_token(token: str, attempt: int) -> str:
    """The token of our own attempt `attempt`: botocore resends one attempt's token on its
    retries (a lost answer is applied once); a cancelled attempt applied nothing, and the next
    is a new request with a token of its own."""
    if attempt == 1:
        return token
    derived = f"{token}-{attempt - 1}"
    if len(derived) <= MAX_TOKEN_LENGTH:
        return derived
    return hashlib.sha256(derived.encode()).hexdigest()[:MAX_TOKEN_LENGTH]


def write(
    items: Sequence[Op | Mapping[str, Any]],
    *,
    on_condition_failed: Mapping[int, OnConditionFailed] | OnConditionFailed | None = None,
    token: str | None = None,
    retry_busy: bool = True,
    attempts: int = ATTEMPTS,
    busy_message: str = BUSY_MESSAGE,
) -> None:
    """Send one TransactWriteItems of `items` (Ops, or entries as DynamoDB takes them).

    Refused before sending (TransactionRequestError): see check_request. A busy answer is sent
    again up to `attempts` times in all, then 503 ServiceUnavailable(busy_message);
    `retry_busy=False` raises DynamoDB's busy error at once instead (for a caller that reads again
    and decides anew). A ConditionalCheckFailed raises the error named for that item (see the
    module's docstring for precedence); nothing named re-raises DynamoDB's error. `token`: the
    ClientRequestToken (botocore's own retries resend it; without one botocore makes one up)."""
    ops = [item if isinstance(item, Op) else Op(dict(item)) for item in items]
    entries = [op.request for op in ops]
    check_request(entries, token)
    handlers = _handlers(ops, on_condition_failed)
    for attempt in range(1, attempts + 1):
        request: dict[str, Any] = {"TransactItems": entries}
        if token is not None:
            request["ClientRequestToken"] = _attempt_token(token, attempt)
        try:
            _client().transact_write_items(**request)
            return
        except Exception as exc:  # noqa: BLE001 - classified below
            reasons = cancellation_reasons(exc)
            if CONDITION_FAILED in reasons:
                error = _domain_error(reasons, handlers)
                if error is None:
                    raise
                raise error from exc
            if not (retry_busy and is_busy(exc)):
                raise
            if attempt == attempts:
                raise ServiceUnavailable(busy_message) from None
            back_off(attempt)


def read(gets: Sequence[Mapping[str, Any]], *, attempts: int = ATTEMPTS, busy_message: str = BUSY_MESSAGE,
         ) -> list[dict[str, Any] | None]:
    """One TransactGetItems of `gets` ({"Get": {...}} entries, see Get): each item (its raw
    attributes) or None, in request order. Checked as `write` checks; a read cancelled by a write
    in flight (TransactionConflict) or throttled is sent again, then 503."""
    entries = [dict(get) for get in gets]
    check_request(entries)
    response = retry_when_busy(lambda: _client().transact_get_items(TransactItems=entries), attempts, busy_message)
    return [entry.get("Item") or None for entry in response.get("Responses", [])]
