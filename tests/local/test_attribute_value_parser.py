"""local.attribute_value_parser: DynamoDB attribute values parsed by a direct walk give exactly
what botocore's shape-by-shape JSON parser gives, for any nesting and any odd member."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from local.attribute_value_parser import install_attribute_value_parser


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    """An attribute value as it comes on the wire, now and then with an odd member."""
    kind = rng.choice(["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL"] + (["M", "L"] * 2 if depth < 4 else []))
    blob = lambda: base64.b64encode(rng.randbytes(rng.randint(0, 6))).decode()  # noqa: E731
    value: dict[str, Any]
    if kind == "S":
        value = {"S": rng.choice(["", "x", "é ü", "01J2"])}
    elif kind == "N":
        value = {"N": rng.choice(["0", "-1.50", "12345678901234567890"])}
    elif kind == "B":
        value = {"B": blob()}
    elif kind in ("SS", "NS"):
        value = {kind: [str(rng.randint(0, 9)) for _ in range(rng.randint(1, 3))]}
    elif kind == "BS":
        value = {"BS": [blob() for _ in range(rng.randint(1, 3))]}
    elif kind == "NULL":
        value = {"NULL": True}
    elif kind == "BOOL":
        value = {"BOOL": rng.random() < 0.5}
    elif kind == "M":
        value = {"M": {f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}}
    else:
        value = {"L": [None if rng.random() < 0.1 else _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}
    odd = rng.random()
    if odd < 0.05:
        value["Unknown"] = {"S": "dropped"}  # a member the model does not know
    elif odd < 0.10:
        value[rng.choice(["S", "N", "M", "L", "BOOL"])] = None  # a null member beside the real one
    elif odd < 0.12:
        value = {"S": None}  # only a null member
    elif odd < 0.14:
        value = {"S": "two", "N": "1"}  # two members at once (invalid, parsed anyway)
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(key, _typed(inner)) for key, inner in value.items()])  # key order counts
    if isinstance(value, list):
        return ("list", [_typed(inner) for inner in value])
    return (type(value).__name__, value)


@pytest.fixture
def both_parsers(monkeypatch: pytest.MonkeyPatch) -> Any:
    install_attribute_value_parser()
    parser = create_parser("json")

    def parse(body: dict[str, Any], shape: Any, fast: bool) -> Any:
        monkeypatch.setenv("LOCAL_FAST_ATTRIBUTE_PARSE", "1" if fast else "0")
        return parser.parse({"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}, shape)

    return parse


@pytest.mark.parametrize("seed", range(4))
def test_items_parse_to_the_same_values_types_and_order_both_ways(both_parsers: Any, seed: int) -> None:
    # GIVEN DynamoDB's Query output shape and pages of random items
    rng = random.Random(seed)
    shape = botocore.session.get_session().get_service_model("dynamodb").operation_model("Query").output_shape
    body = {"Items": [{f"a{i}": _random_value(rng) for i in range(rng.randint(1, 8))} for _ in range(25)],
            "Count": 25, "LastEvaluatedKey": {"pk": {"S": "x"}, "b": {"B": "AAE="}}}
    # WHEN the body is parsed with the direct walk and with botocore's own
    fast, slow = both_parsers(body, shape, True), both_parsers(body, shape, False)
    # THEN both give the same, values, types and key order (the walk was used)
    assert _typed(fast) == _typed(slow)
    assert isinstance(slow["LastEvaluatedKey"]["b"]["B"], bytes)


def test_stream_images_parse_the_same_both_ways(both_parsers: Any) -> None:
    # GIVEN DynamoDB Streams' GetRecords output with old and new images
    rng = random.Random(7)
    shape = botocore.session.get_session().get_service_model("dynamodbstreams").operation_model("GetRecords").output_shape
    image = lambda: {f"a{i}": _random_value(rng) for i in range(5)}  # noqa: E731
    body = {"Records": [{"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "k"}}, "NewImage": image(), "OldImage": image(),
                                                             "ApproximateCreationDateTime": 1700000000.5}} for _ in range(10)]}
    # WHEN / THEN both parsers agree
    assert _typed(both_parsers(body, shape, True)) == _typed(both_parsers(body, shape, False))


def test_the_walk_runs_only_when_on(both_parsers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a spy on the walk
    from local import attribute_value_parser

    walked: list[Any] = []
    walk = attribute_value_parser.parse_attribute_value

    def spy(value: Any, blob: Any) -> Any:
        walked.append(value)
        return walk(value, blob)

    monkeypatch.setattr(attribute_value_parser, "parse_attribute_value", spy)
    shape = botocore.session.get_session().get_service_model("dynamodb").operation_model("GetItem").output_shape
    body = {"Item": {"a": {"M": {"b": {"L": [{"S": "c"}]}}}, "n": {"N": "1"}}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}
    # WHEN an item is parsed with the walk on, then off
    fast = both_parsers(body, shape, True)
    walked_when_on = len(walked)
    slow = both_parsers(body, shape, False)
    # THEN the walk parsed the item's four values (a, its map's b, b's list's c, and n), botocore
    # the rest, and switched off, botocore parsed it all, to the same result
    assert walked_when_on == 4 and len(walked) == 4
    assert _typed(fast) == _typed(slow)
    assert fast["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 1.0}
