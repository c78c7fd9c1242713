"""Faster paths through moto (in this process) that change no answer (ADR 0034).

moto 5.2 builds every JSON response by walking the operation's output shape with an attribute
picker that tries several aliases per member. For DynamoDB's item operations that walk was the
largest single cost of the local stack under load (~23% of its CPU while it seeded the demo
catalog), yet their results are already plain dicts in wire shape. `install_fast_paths()`
(idempotent; LOCAL_MOTO_FAST_JSON=0 turns it off, LOCAL_MOTO_FAST_PATHS=0 all of this module) serializes those results with `json.dumps`:

- only the item operations below, and only results that are dicts (errors take moto's path);
- binary values base64-encoded and capacity units as floats, as moto's serializer writes them;
- `tests/local/test_moto_fast_paths.py` parses both bodies with botocore's own parser for every
  operation and shape of result the product uses and checks they are the same values and types.

Every Query also began with `Table.all_items()`: the whole table, sorted, on each call (sorting
compares DynamoTypes, which recompute their cast value each time), then filtered down to one
partition. Under `make load` the tables grow and that sort became the largest cost of all. While
a Query runs, its table's `all_items()` here gives only the candidates (LOCAL_MOTO_FAST_QUERY=0
turns it off): the query's partition for a table query; for an index query, the items whose
index hash key attributes equal the condition's. Order does not matter there: moto sorts the
candidates itself by the full table key, which leaves no ties. Scan keeps moto's sorted list
(its pages follow that order). The same test file runs random queries (tables with and without
sort keys, GSIs, LSIs, conditions, limits, pages, both directions) both ways and compares.

Also here: one boto3 client per region and service for moto's Step Functions tasks (below), and
the switch for the stream poller's direct reads (`local.streams.BackendStreamSource`).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import pickle
import threading
from typing import Any

# DynamoDB operations whose results are items (and counts, keys, capacity): plain JSON.
ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
_CAPACITY_UNITS = ("CapacityUnits", "ReadCapacityUnits", "WriteCapacityUnits")

_lock = threading.Lock()
_installed = False


def _enabled(name: str) -> bool:
    """LOCAL_MOTO_FAST_PATHS=0 turns every fast path off (benches compare); each has its own knob."""
    return os.environ.get("LOCAL_MOTO_FAST_PATHS", "1") != "0" and os.environ.get(name, "1") != "0"


def fast_json_enabled() -> bool:
    return _enabled("LOCAL_MOTO_FAST_JSON")


def fast_query_enabled() -> bool:
    return _enabled("LOCAL_MOTO_FAST_QUERY")


def fast_streams_enabled() -> bool:
    """The stream poller reads moto's backend (local.streams.BackendStreamSource), not the API."""
    return _enabled("LOCAL_MOTO_FAST_STREAMS")


def fast_clients_enabled() -> bool:
    return _enabled("LOCAL_MOTO_FAST_CLIENTS")


def fast_asl_enabled() -> bool:
    return _enabled("LOCAL_MOTO_FAST_ASL")


_querying = threading.local()  # .table, .hash_key, .conditions while a Query runs on this thread


def _query_candidates(table: Any) -> list[Any] | None:
    """The items a running Query on `table` can match (None: no narrowing, use moto's list)."""
    if getattr(_querying, "table", None) is not table:
        return None
    partitions = table.items
    if _querying.index_name is None:
        partition = partitions.get(_querying.hash_key) if _querying.hash_key is not None else None
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    conditions = _querying.conditions
    if not conditions:
        return None
    candidates = []
    for partition in partitions.values():
        for item in partition.values() if table.range_key_attr else (partition,):
            attrs = item.attrs
            if all((current := attrs.get(name)) is not None and current == value for name, value in conditions):
                candidates.append(item)
    return candidates


def _default(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON: {type(value).__name__}")


def _capacity_as_floats(capacity: Any) -> Any:
    """ConsumedCapacity (one, or a list) with its units as floats (the shape says Double)."""
    if isinstance(capacity, list):
        return [_capacity_as_floats(entry) for entry in capacity]
    if not isinstance(capacity, dict):
        return capacity
    fixed = {key: float(value) if key in _CAPACITY_UNITS and isinstance(value, int | float) else value for key, value in capacity.items()}
    for nested in ("Table",):
        if isinstance(fixed.get(nested), dict):
            fixed[nested] = _capacity_as_floats(fixed[nested])
    for indexes in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        if isinstance(fixed.get(indexes), dict):
            fixed[indexes] = {name: _capacity_as_floats(units) for name, units in fixed[indexes].items()}
    return fixed


def item_response_body(result: dict[str, Any]) -> str:
    """The JSON body for an item operation's result, as moto's serializer would write it."""
    if "ConsumedCapacity" in result:
        result = {**result, "ConsumedCapacity": _capacity_as_floats(result["ConsumedCapacity"])}
    return json.dumps(result, default=_default)


def install_fast_paths() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.responses import DynamoResult

        original = DynamoResult.execute_result

        @functools.wraps(original)
        def execute_result(self: Any, context: Any) -> Any:
            result = self.result
            if isinstance(result, dict) and context.operation_model.name in ITEM_OPERATIONS and fast_json_enabled():
                try:
                    return 200, {"Content-Type": "application/x-amz-json-1.0"}, item_response_body(result)
                except TypeError:  # something moto's serializer knows how to write: let it
                    pass
            return original(self, context)

        DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
        _install_query_candidates()
        _install_step_functions_client_cache()
        _install_state_machine_parse_cache()
        _install_json_path_cache()
        _install_method_names_cache()
        _install_update_expression_cache()
        from local.moto_direct_dispatch import install_direct_dispatch

        install_direct_dispatch()  # DynamoDB requests past moto's generic stubber: ADR 0037
        from local.attribute_value_parser import install_attribute_value_parser

        install_attribute_value_parser()  # botocore's parse of attribute values, same result: ADR 0037
        _installed = True


def _install_step_functions_client_cache() -> None:
    """moto's Step Functions interpreter builds a new boto3 client for every task it runs
    (~5% of the stack's CPU under load: each client copies botocore's event hooks and parses
    the endpoint rules). Clients are thread-safe and these differ only by region, service and
    where moto is, so one per such key is kept. moto 5.2 passes every Lambda task a
    `StateCredentials` (the task's role ARN, often None) and then ignores it: its clients always
    sign with fixed fake keys, so those share a client too (it was building one per task: 17% of
    what moto's process spent under `make load` with the handlers elsewhere, ADR 0036).
    Credentials of any other kind get a new client, as in moto."""
    import sys

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
    from moto.stepfunctions.parser.asl.utils import boto_client as module

    original = module.boto_client_for
    clients: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        ignored_by_moto = state_credentials is None or isinstance(state_credentials, StateCredentials)
        if not ignored_by_moto or not fast_clients_enabled():
            return original(region, service, state_credentials)
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        key = (region, service, botocore_stubber.enabled, moto_server_port())
        client = clients.get(key)
        if client is None:
            client = clients.setdefault(key, original(region, service))
        return client

    module.boto_client_for = boto_client_for
    for name, imported in list(sys.modules.items()):  # modules that imported it by name already
        if name.startswith("moto.stepfunctions") and getattr(imported, "boto_client_for", None) is original:
            imported.boto_client_for = boto_client_for  # type: ignore[attr-defined]


def _install_query_candidates() -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    @functools.wraps(original_query)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not fast_query_enabled() or getattr(_querying, "table", None) is not None:
            return original_query(self, *args, **kwargs)
        arguments = signature.bind(self, *args, **kwargs).arguments
        _querying.index_name = arguments.get("index_name")
        _querying.hash_key = arguments.get("hash_key")
        _querying.conditions = list(arguments.get("hash_key_conditions") or [])
        _querying.table = self
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _querying.table = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> list[Any]:
        candidates = _query_candidates(self)
        return original_all_items(self) if candidates is None else candidates

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


PARSE_CACHE_SIZE = 64


def _install_state_machine_parse_cache() -> None:
    """moto's Step Functions interpreter parses the state machine's definition with ANTLR at the
    start of every execution (12% of what moto's process spent under `make load` with the
    handlers elsewhere, ADR 0036). The parse tree depends only on the definition's text and the
    interpreter only reads it, so trees are kept per definition (a bounded few); the evaluation
    components are still built fresh from the tree for each execution, so no two executions
    share state.
    LOCAL_MOTO_FAST_ASL=0 turns it off."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse
    trees: dict[str, Any] = {}

    def parse(definition: str) -> Any:
        if not fast_asl_enabled():
            return original(definition)
        tree = trees.get(definition)
        if tree is None:
            program, tree = original(definition)  # syntax errors raise here, never cached
            with _lock:  # executions start concurrently: evict under the lock
                if len(trees) >= PARSE_CACHE_SIZE:
                    trees.pop(next(iter(trees)), None)
                trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    parse.__wrapped__ = original  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


JSON_PATH_CACHE_SIZE = 512


def _install_json_path_cache() -> None:
    """moto's Step Functions interpreter compiles every JSONPath (`$.order_id`, a task's
    `InputPath`/`Parameters`) with a new jsonpath_ng parser (ply's yacc tables rebuilt) each time
    it reads one: ~6% of the stack's CPU under `make load`. A compiled path depends only on its
    text and `find` only reads it, so compiled paths are kept per text (bounded); a path that does
    not compile raises every time, as before.
    LOCAL_MOTO_FAST_ASL=0 turns it off (with the definition cache above)."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        original = getattr(module.parse, "__wrapped__", module.parse)
        module.parse = _cached_json_path_parse(original)


def _cached_json_path_parse(original: Any) -> Any:
    compiled: dict[str, Any] = {}

    @functools.wraps(original)
    def parse(path: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(path, str) or not fast_asl_enabled():
            return original(path, *args, **kwargs)
        expression = compiled.get(path)
        if expression is None:
            expression = original(path)  # a bad path raises here, never cached
            with _lock:  # Step Functions threads compile concurrently: evict under the lock
                if len(compiled) >= JSON_PATH_CACHE_SIZE:
                    compiled.pop(next(iter(compiled)), None)
                compiled[path] = expression
        return expression

    return parse


def fast_expressions_enabled() -> bool:
    return _enabled("LOCAL_MOTO_FAST_EXPRESSIONS")


EXPRESSION_CACHE_SIZE = 512


def _install_update_expression_cache() -> None:
    """moto parses an UpdateExpression twice per UpdateItem (once to check the names and values
    it uses, once to apply it), and again for each Update in a transaction: ~13% of moto's own
    UpdateItem. The tree depends only on the expression's text and nobody changes it: the
    validator that applies it works on a deep copy of its own. So trees are kept per text (a
    bounded few hundred; the product's expressions are a few dozen fixed strings). A text that
    does not parse raises every time, as before. LOCAL_MOTO_FAST_EXPRESSIONS=0 turns it off.

    That deep copy was then the largest cost left in UpdateItem (generic `copy.deepcopy` of a tree
    with parent links: ~5% of the stack's CPU under `make load`). A cached tree is pickled once,
    and the validator's copy of it is `pickle.loads` of those bytes (~5x faster): the same classes
    and attributes, links included. Only trees made of plain nodes, lists and scalars take that
    path (checked when cached); any other value is deep-copied as moto does."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    original = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    trees: dict[str, Any] = {}
    pickled: dict[int, tuple[Any, bytes]] = {}  # id(tree) -> (tree, its pickle), for cached trees only

    def make(cls: Any, expression_str: str) -> Any:
        if not fast_expressions_enabled():
            return original(cls, expression_str)
        tree = trees.get(expression_str)
        if tree is None:
            tree = original(cls, expression_str)  # a syntax error raises here, never cached
            if len(trees) >= EXPRESSION_CACHE_SIZE:
                pickled.pop(id(trees.pop(next(iter(trees)))), None)
            trees[expression_str] = tree
            if _plain_tree(tree):
                pickled[id(tree)] = (tree, pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
        return tree

    moto_deepcopy = validators.deepcopy

    def deepcopy(value: Any, memo: Any = None) -> Any:
        entry = pickled.get(id(value)) if memo is None else None
        if entry is not None and entry[0] is value and fast_expressions_enabled():
            return pickle.loads(entry[1])
        return moto_deepcopy(value, memo)

    validators.deepcopy = deepcopy

    make.__wrapped__ = original  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]


def _plain_tree(tree: Any) -> bool:
    """Whether an expression tree holds only moto's AST nodes, lists, tuples and scalars, which
    pickle copies exactly as deepcopy does (no value with a __deepcopy__ or __reduce__ of its own)."""
    from moto.dynamodb.parsing.ast_nodes import Node

    seen: set[int] = set()
    pending = [tree]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, (str, int, float, bool, type(None))):
            continue
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, Node) and type(value).__module__ == Node.__module__ and not hasattr(value, "__deepcopy__"):
            pending.extend(vars(value).values())
        else:
            return False
    return True


def _install_method_names_cache() -> None:
    """moto looks up which actions a response class has with `inspect.getmembers` on every call
    (2% of the stack process's CPU under `make load`). A class's function names only change when
    a method is added, so they are remembered per class together with the class's own
    attribute names, and looked up again if those change (a patch adding a method)."""
    from moto.core import responses
    from moto.core.utils import method_names_from_class as original

    names: dict[type, tuple[frozenset[str], list[str]]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        if not _enabled("LOCAL_MOTO_FAST_DISPATCH"):
            return original(clazz)
        attributes = frozenset(name for klass in clazz.__mro__ for name in vars(klass))
        cached = names.get(clazz)
        if cached is None or cached[0] != attributes:
            cached = names[clazz] = (attributes, original(clazz))
        return list(cached[1])

    method_names_from_class.__wrapped__ = original  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]
