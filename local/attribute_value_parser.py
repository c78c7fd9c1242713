"""DynamoDB attribute values parsed by a direct walk, not shape by shape (ADR 0037).

botocore parses every DynamoDB response by walking its output shape. An attribute value is a
structure of ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL): for each value, botocore
looks up a handler for each of the ten, and recurses the same way into maps and lists. Under
`make load` that parsing was ~8% of the local stack's CPU, most of it in attribute values
(orders, carts and products are deep maps).

The walk below gives the same result: the members in the model's order, each present one as
botocore's JSON parser gives it (blobs base64-decoded to bytes, strings, numbers, booleans and
NULL as they come, None kept in lists, absent or null members left out, unknown members
dropped). It is used only for a structure named AttributeValue whose members are exactly those
ten, for maps of them (items) and for lists of items. `tests/local/test_attribute_value_parser.py` parses random nested values both ways, for
DynamoDB's and DynamoDB Streams' outputs. LOCAL_FAST_ATTRIBUTE_PARSE=0 (or
LOCAL_MOTO_FAST_PATHS=0) turns it off. This is the local stack's process only: on AWS the
Lambda runtime's botocore parses as it always does.
"""

from __future__ import annotations

import os
import threading
from typing import Any

MEMBERS = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_AS_IS = frozenset({"S", "N", "NULL", "BOOL"})
_lock = threading.Lock()
_installed = False


def fast_parse_enabled() -> bool:
    return os.environ.get("LOCAL_MOTO_FAST_PATHS", "1") != "0" and os.environ.get("LOCAL_FAST_ATTRIBUTE_PARSE", "1") != "0"


def parse_attribute_value(value: Any, blob: Any) -> Any:
    """One attribute value, as botocore's JSON parser returns it; `blob` decodes base64."""
    if value is None:
        return None
    if len(value) == 1:  # nearly always: one member set
        for name, raw in value.items():
            if name in _AS_IS:
                return {name: raw} if raw is not None else {}
            break
    parsed: dict[str, Any] = {}
    for name in MEMBERS:
        raw = value.get(name)
        if raw is None:
            continue
        if name == "M":
            parsed[name] = {key: parse_attribute_value(inner, blob) for key, inner in raw.items()}
        elif name == "L":
            parsed[name] = [None if inner is None else parse_attribute_value(inner, blob) for inner in raw]
        elif name == "B":
            parsed[name] = blob(raw)
        elif name == "BS":
            parsed[name] = [None if inner is None else blob(inner) for inner in raw]
        elif name in ("SS", "NS"):
            parsed[name] = list(raw)
        else:
            parsed[name] = raw
    return parsed


_checked: dict[int, tuple[Any, bool]] = {}  # id(shape) -> (shape, is it DynamoDB's AttributeValue)


def _is_attribute_value(shape: Any) -> bool:
    known = _checked.get(id(shape))
    if known is None or known[0] is not shape:  # the shape kept alive beside its id: ids are not reused
        known = (shape, shape.type_name == "structure" and tuple(shape.members) == MEMBERS)
        if len(_checked) < 4096:
            _checked[id(shape)] = known
    return known[1]


def _is_attribute_map(shape: Any) -> bool:
    """An item: a map of string keys to attribute values."""
    return shape.type_name == "map" and shape.key.type_name == "string" and shape.value.name == "AttributeValue" \
        and _is_attribute_value(shape.value)


def install_attribute_value_parser() -> None:
    """Items (maps of attribute values) and lists of items are walked whole, with one look at the
    switch each (reading os.environ per value cost more than the walk); a lone attribute value
    elsewhere is walked on its own."""
    global _installed
    with _lock:
        if _installed:
            return
        from botocore.parsers import BaseJSONParser

        original_structure, original_map, original_list = (
            BaseJSONParser._handle_structure, BaseJSONParser._handle_map, BaseJSONParser._handle_list)

        def _handle_structure(self: Any, shape: Any, value: Any) -> Any:
            if shape.name == "AttributeValue" and _is_attribute_value(shape) and (value is None or isinstance(value, dict)) \
                    and fast_parse_enabled():
                return parse_attribute_value(value, self._blob_parser)
            return original_structure(self, shape, value)

        def _handle_map(self: Any, shape: Any, value: Any) -> Any:
            if isinstance(value, dict) and _is_attribute_map(shape) and fast_parse_enabled():
                return _item(value, self._blob_parser)
            return original_map(self, shape, value)

        def _handle_list(self: Any, shape: Any, node: Any) -> Any:
            if isinstance(node, list) and _is_attribute_map(shape.member) and fast_parse_enabled() \
                    and all(item is None or isinstance(item, dict) for item in node):
                blob = self._blob_parser
                return [None if item is None else _item(item, blob) for item in node]
            return original_list(self, shape, node)

        for name, handler, original in (("_handle_structure", _handle_structure, original_structure),
                                        ("_handle_map", _handle_map, original_map),
                                        ("_handle_list", _handle_list, original_list)):
            handler.__wrapped__ = original  # type: ignore[attr-defined]
            setattr(BaseJSONParser, name, handler)
        _installed = True


def _item(value: dict[str, Any], blob: Any) -> dict[str, Any]:
    # the key is a string shape: botocore gives it as it comes
    return {key: parse_attribute_value(inner, blob) for key, inner in value.items()}
