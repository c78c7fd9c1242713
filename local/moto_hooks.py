"""Hooks into moto's DynamoDB models (in this process) that let the local stack's background
loops wait for work instead of polling for it.

moto_patches.py makes moto tell the truth; this module only observes it (nothing here changes
what any AWS call returns). `install_moto_hooks()` is idempotent and wraps:

- `StreamShard.add` (every stream record: put, update, delete, batch, transaction, TTL delete):
  bumps the table's *stream version* and wakes whoever waits on it, so
  `local.streams.StreamPoller` reads a stream only after a write instead of calling
  DescribeStream + GetRecords for seven mappings several times a second;
- `sqs.models.Queue.add_message` (every SendMessage, batch or not, SNS fan-out included): wakes
  `local.queues.QueuePoller`, which otherwise looks at its queues about once a second when idle
  (failed messages return from invisibility on their own, without a write);
- `Table.put_item` and `DynamoDBBackend.update_item` (every path that stores an item): for the
  tables `watch_expiry` registered (the template's TTL tables), records the item's TTL value in
  an *index of expiry times*, so `local.ttl.TtlSweeper` deletes what is due without Scans.

The index may hold stale entries (an item renewed, deleted or re-created since): the sweeper's
delete is conditional on the item being due *now*, so a stale entry costs one failed
conditional delete and never deletes a live item. An item's entry is only ever added, so an
item whose TTL is due is always in the index (once its table is watched: the sweeper seeds the
index with one Scan when it starts).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from typing import Any

_install_lock = threading.Lock()
_installed = False

# -- stream writes ------------------------------------------------------------------------------
_stream_written = threading.Condition()
_stream_versions: dict[str, int] = {}  # table name -> stream records written so far


def hooks_installed() -> bool:
    return _installed


def stream_version(table_name: str) -> int:
    with _stream_written:
        return _stream_versions.get(table_name, 0)


def wait_for_stream_write(
    table_names: set[str] | frozenset[str], seen: dict[str, int], timeout: float, stop: threading.Event | None = None
) -> bool:
    """Block until one of the tables' stream version differs from `seen` or `stop` is set (True),
    or `timeout` passes (False)."""

    def changed() -> bool:
        if stop is not None and stop.is_set():
            return True
        return any(_stream_versions.get(name, 0) != seen.get(name, 0) for name in table_names)

    with _stream_written:
        return _stream_written.wait_for(changed, timeout=max(0.0, timeout))


def wake_stream_waiters() -> None:
    """Wake every waiter (a poller stopping) without pretending a write happened."""
    with _stream_written:
        _stream_written.notify_all()


def _note_stream_write(table_name: str) -> None:
    with _stream_written:
        _stream_versions[table_name] = _stream_versions.get(table_name, 0) + 1
        _stream_written.notify_all()


# -- queue sends ------------------------------------------------------------------------------------
_queue_written = threading.Condition()
_queue_version = 0  # messages sent to any queue so far


def queue_version() -> int:
    with _queue_written:
        return _queue_version


def wait_for_queue_send(seen: int, timeout: float, stop: threading.Event | None = None) -> bool:
    """Block until a message is sent to any queue after `seen` or `stop` is set (True), or `timeout` passes."""
    with _queue_written:
        return _queue_written.wait_for(
            lambda: _queue_version != seen or (stop is not None and stop.is_set()), timeout=max(0.0, timeout)
        )


def wake_queue_waiters() -> None:
    with _queue_written:
        _queue_written.notify_all()


def _note_queue_send() -> None:
    global _queue_version
    with _queue_written:
        _queue_version += 1
        _queue_written.notify_all()


# -- the index of expiry times ---------------------------------------------------------------------
_expiry_lock = threading.Lock()
_watched: dict[str, tuple[str, tuple[str, ...]]] = {}  # table name -> (TTL attribute, key attributes)
_expiries: dict[str, list[tuple[float, int, dict[str, Any]]]] = {}  # table name -> heap of (ttl, tiebreak, key)
_tiebreak = itertools.count()


def watch_expiry(table_name: str, ttl_attribute: str, key_attributes: tuple[str, ...]) -> None:
    """Index the TTL values of `table_name`'s items from now on (idempotent)."""
    with _expiry_lock:
        _watched[table_name] = (ttl_attribute, tuple(key_attributes))
        _expiries.setdefault(table_name, [])


def note_expiry(table_name: str, ttl: float, key: dict[str, Any]) -> None:
    with _expiry_lock:
        heapq.heappush(_expiries.setdefault(table_name, []), (ttl, next(_tiebreak), key))


def pop_expired(table_name: str, now: float) -> list[dict[str, Any]]:
    """Keys (wire format) of the entries with a TTL <= now, removed from the index."""
    due: list[dict[str, Any]] = []
    with _expiry_lock:
        heap = _expiries.get(table_name) or []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[2])
    return due


def next_expiry(table_name: str) -> float | None:
    with _expiry_lock:
        heap = _expiries.get(table_name)
        return heap[0][0] if heap else None


def forget_expiries() -> None:
    """Empty the index (a new stack, a new moto account: the old entries name gone items)."""
    with _expiry_lock:
        for heap in _expiries.values():
            heap.clear()


def _record_expiry(table_name: str, item: Any) -> None:
    watched = _watched.get(table_name)
    if watched is None or item is None:
        return
    attribute, key_attributes = watched
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return  # DynamoDB's TTL ignores items without a Number TTL
    try:
        ttl = float(value.value)
        key = {name: item.attrs[name].to_json() for name in key_attributes}
    except (KeyError, TypeError, ValueError):
        return
    note_expiry(table_name, ttl, key)


# -- installation ------------------------------------------------------------------------------------
def install_moto_hooks() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard, Table
        from moto.sqs.models import Queue

        original_add = StreamShard.add
        original_put = Table.put_item
        original_update = DynamoDBBackend.update_item
        original_add_message = Queue.add_message

        @functools.wraps(original_add_message)
        def add_message(self: Any, message: Any) -> None:
            try:
                original_add_message(self, message)
            finally:
                _note_queue_send()

        @functools.wraps(original_add)
        def add(self: Any, old: Any, new: Any) -> None:
            try:
                original_add(self, old, new)
            finally:
                _note_stream_write(self.table.name)

        @functools.wraps(original_put)
        def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
            item = original_put(self, *args, **kwargs)
            _record_expiry(self.name, item)
            return item

        @functools.wraps(original_update)
        def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            item = original_update(self, table_name, *args, **kwargs)
            _record_expiry(table_name, item)
            return item

        StreamShard.add = add  # type: ignore[method-assign]
        Table.put_item = put_item  # type: ignore[method-assign]
        DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        Queue.add_message = add_message  # type: ignore[method-assign]
        _installed = True
