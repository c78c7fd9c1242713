"""Eventually consistent global secondary indexes for the local DynamoDB (ADR 0032): off unless switched on.

DynamoDB copies a write to a table's GSIs asynchronously: a Query or Scan with `IndexName` of a
GSI may miss an item written a moment ago, or show its old values (and `ConsistentRead=True` on
a GSI is a ValidationException, which moto already answers). moto answers every index read from
the live items, so code that reads a GSI right after writing can never fail a local test.

With a lag of `L` seconds, every GSI Query/Scan answers from the table *as it was L seconds ago*:
an item put, updated or deleted within the lag is missing from the index, shows its old values,
or is still listed. Base-table reads (GetItem, Query/Scan without IndexName, ConsistentRead or
not) and local secondary indexes stay exact. Both transports see it (ADR 0029): the patch is on
moto's `Table`, below the HTTP and in-process paths.

How: while on, every stored write (`Table.put_item`, `Table.delete_item`,
`DynamoDBBackend.update_item`: the paths every PutItem, UpdateItem, DeleteItem, batch,
transaction and TTL delete ends in) keeps a copy of the item as it was before, stamped with the
write time; only the last `L` seconds of that history are kept. A GSI read swaps in a view of
the table where each item written after now-L is replaced by its version from before the first
such write, runs moto's own query on it, and swaps the live items back (under the DynamoDB lock,
so no request sees the swap).

Eventually consistent base-table reads, the same way (off unless asked for, on top of a lag):
on AWS a GetItem, BatchGetItem, Query or Scan without `ConsistentRead=True` may also miss a write
of the last moment. With `eventual_reads` on, such a read of a base table (or of a local secondary
index) answers from the table as it was `L` seconds ago as well; reads that ask for consistency,
and TransactGetItems (always consistent), stay exact. The request's `ConsistentRead` (per table
for BatchGetItem) is noted on the thread while moto's DynamoHandler serves it.

Switch: env `LOCAL_GSI_LAG_SECONDS` (0/unset = off) and `LOCAL_EVENTUAL_READS=1`, read when the
patches are applied; tests use `lagged(seconds)` / `lagged(seconds, eventual_reads=True)`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

_lock = threading.RLock()
_installed = False
_lag_seconds = 0.0
_eventual_reads = False  # base-table reads without ConsistentRead lag too
_request = threading.local()  # .eventual: tables the DynamoDB request being served reads eventually
# table name -> item key (hash, range) -> [(write time, item before that write or None)], oldest first
_history: dict[str, dict[tuple[Any, Any], list[tuple[float, Any]]]] = {}


def lag_seconds() -> float:
    return _lag_seconds


def set_lag(seconds: float) -> float:
    """Lag GSI reads by `seconds` from now on (0 = exact); returns the previous lag.
    History starts empty: writes made while off are all older than any lag."""
    global _lag_seconds
    if seconds < 0:
        raise ValueError("the GSI lag cannot be negative")
    with _lock:
        previous, _lag_seconds = _lag_seconds, float(seconds)
        _history.clear()
    return previous


def set_eventual_reads(on: bool) -> bool:
    """Whether base-table reads without ConsistentRead lag as well (with a lag set); returns the previous setting."""
    global _eventual_reads
    with _lock:
        previous, _eventual_reads = _eventual_reads, bool(on)
    return previous


@contextlib.contextmanager
def lagged(seconds: float, eventual_reads: bool = False) -> Iterator[None]:
    """GSI reads lag `seconds` behind writes inside the block (as on AWS), exact again after it;
    with `eventual_reads`, so do base-table reads that do not ask for ConsistentRead."""
    previous_reads = set_eventual_reads(eventual_reads)
    previous = set_lag(seconds)
    try:
        yield
    finally:
        set_lag(previous)
        set_eventual_reads(previous_reads)


def configure_from_environment() -> None:
    raw = os.environ.get("LOCAL_GSI_LAG_SECONDS", "").strip()
    if raw:
        set_lag(float(raw))
    set_eventual_reads(os.environ.get("LOCAL_EVENTUAL_READS", "").strip() in ("1", "true"))


def _reads_eventually(table: Any) -> bool:
    """Whether the request being served on this thread reads `table` without ConsistentRead."""
    return _eventual_reads and _lag_seconds > 0 and table.name in getattr(_request, "eventual", ())


# -- the history of writes ------------------------------------------------------------------------
def _item_key(table: Any, hash_key: Any, range_key: Any) -> tuple[Any, Any]:
    return (hash_key, range_key if table.range_key_attr else None)


def _current(table: Any, key: tuple[Any, Any]) -> Any:
    hash_key, range_key = key
    if table.range_key_attr:
        return table.items.get(hash_key, {}).get(range_key) if hash_key in table.items else None
    return table.items.get(hash_key)


def _note_before_write(table: Any, key: tuple[Any, Any]) -> None:
    if _lag_seconds <= 0:
        return
    now = time.time()
    with _lock:
        versions = _history.setdefault(table.name, {}).setdefault(key, [])
        # Once the first write after now-lag is recorded, later writes change nothing the index
        # can show before they are older than the lag: only that first "before" matters.
        cutoff = now - _lag_seconds
        while versions and versions[0][0] <= cutoff:
            versions.pop(0)
        versions.append((now, copy.deepcopy(_current(table, key))))


def _lagged_view(table: Any, now: float) -> Any | None:
    """The table's items as of now-lag, or None when nothing was written within the lag."""
    cutoff = now - _lag_seconds
    with _lock:
        written = _history.get(table.name)
        if not written:
            return None
        befores: dict[tuple[Any, Any], Any] = {}
        for key in list(written):
            versions = [entry for entry in written[key] if entry[0] > cutoff]
            if versions:
                written[key] = versions
                befores[key] = versions[0][1]
            else:
                del written[key]
        if not befores:
            return None
    if table.range_key_attr:
        view: Any = defaultdict(dict, {hash_key: dict(by_range) for hash_key, by_range in table.items.items()})
        for (hash_key, range_key), before in befores.items():
            if before is None:
                view.get(hash_key, {}).pop(range_key, None)
            else:
                view[hash_key][range_key] = before
    else:
        view = dict(table.items)
        for (hash_key, _), before in befores.items():
            if before is None:
                view.pop(hash_key, None)
            else:
                view[hash_key] = before
    return view


def _lagged_item(table: Any, key: tuple[Any, Any], now: float) -> tuple[bool, Any]:
    """(True, the item as of now-lag) if it was written within the lag, else (False, None)."""
    cutoff = now - _lag_seconds
    with _lock:
        versions = [entry for entry in _history.get(table.name, {}).get(key, ()) if entry[0] > cutoff]
    return (True, versions[0][1]) if versions else (False, None)


def _is_global_index(table: Any, index_name: str | None) -> bool:
    return bool(index_name) and any(index.name == index_name for index in table.global_indexes)


# -- installation -----------------------------------------------------------------------------------
def install_gsi_lag() -> None:
    """Wrap moto's Table and DynamoDBBackend (idempotent); a no-op at read time while the lag is 0."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        from local.moto_patches import DYNAMODB_LOCK

        original_put = Table.put_item
        original_delete = Table.delete_item
        original_update = DynamoDBBackend.update_item
        original_query = Table.query
        original_scan = Table.scan
        original_get = Table.get_item
        query_signature = inspect.signature(original_query)
        scan_signature = inspect.signature(original_scan)

        @functools.wraps(original_put)
        def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if _lag_seconds > 0:
                try:
                    hash_key = DynamoType(item_attrs[self.hash_key_attr])
                    range_key = DynamoType(item_attrs[self.range_key_attr]) if self.range_key_attr else None
                except KeyError:
                    pass  # moto refuses it below
                else:
                    _note_before_write(self, _item_key(self, hash_key, range_key))
            return original_put(self, item_attrs, *args, **kwargs)

        @functools.wraps(original_delete)
        def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
            _note_before_write(self, _item_key(self, hash_key, range_key))
            return original_delete(self, hash_key, range_key)

        @functools.wraps(original_update)
        def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if _lag_seconds > 0:
                table = self.get_table(table_name)
                try:
                    hash_key = DynamoType(key[table.hash_key_attr])
                    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                except KeyError:
                    pass
                else:
                    _note_before_write(table, _item_key(table, hash_key, range_key))
            return original_update(self, table_name, key, *args, **kwargs)

        def read_lagged(original: Any, signature: inspect.Signature) -> Any:
            @functools.wraps(original)
            def read(self: Any, *args: Any, **kwargs: Any) -> Any:
                if _lag_seconds <= 0:
                    return original(self, *args, **kwargs)
                index_name = signature.bind(self, *args, **kwargs).arguments.get("index_name")
                if not (_is_global_index(self, index_name) or _reads_eventually(self)):
                    return original(self, *args, **kwargs)
                with DYNAMODB_LOCK:
                    view = _lagged_view(self, time.time())
                    if view is None:
                        return original(self, *args, **kwargs)
                    live, self.items = self.items, view
                    try:
                        return original(self, *args, **kwargs)
                    finally:
                        self.items = live

            return read

        @functools.wraps(original_get)
        def get_item(self: Any, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Any:
            if _reads_eventually(self):
                written, before = _lagged_item(self, _item_key(self, hash_key, range_key), time.time())
                if written:
                    return before.project(projection_expression) if before is not None and projection_expression else before
            return original_get(self, hash_key, range_key, projection_expression)

        _note_consistency_of_reads()
        Table.get_item = get_item  # type: ignore[method-assign]
        Table.put_item = put_item  # type: ignore[method-assign]
        Table.delete_item = delete_item  # type: ignore[method-assign]
        DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        Table.query = read_lagged(original_query, query_signature)  # type: ignore[method-assign]
        Table.scan = read_lagged(original_scan, scan_signature)  # type: ignore[method-assign]
        configure_from_environment()
        _installed = True


def _note_consistency_of_reads() -> None:
    """Wrap moto's DynamoHandler reads so the models below know which tables the request reads
    without ConsistentRead (TransactGetItems is not wrapped: it is always consistent)."""
    from moto.dynamodb.responses import DynamoHandler

    def eventual_tables(action: str, body: dict[str, Any]) -> frozenset[str]:
        if action == "batch_get_item":
            return frozenset(name for name, request in (body.get("RequestItems") or {}).items()
                             if not request.get("ConsistentRead"))
        return frozenset() if body.get("ConsistentRead") else frozenset({body.get("TableName")})

    for action in ("get_item", "batch_get_item", "query", "scan"):
        original = getattr(DynamoHandler, action)

        @functools.wraps(original)
        def serve(self: Any, _original: Any = original, _action: str = action) -> Any:
            if not (_eventual_reads and _lag_seconds > 0):
                return _original(self)
            outer = getattr(_request, "eventual", frozenset())  # requests can nest on a thread (the lock is re-entrant)
            _request.eventual = eventual_tables(_action, self.body)
            try:
                return _original(self)
            finally:
                _request.eventual = outer

        setattr(DynamoHandler, action, serve)
