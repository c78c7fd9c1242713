"""local.moto_fast_paths: DynamoDB item responses written as plain JSON parse to exactly what
moto's own serializer gives (values and types), for every kind of item result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.parsers import create_parser

ITEM = {
    "pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "x"}, "b": {"B": b"\x00\x01"}, "n": {"N": "1.50"},
    "ss": {"SS": ["q", "r"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"y"]},
    "m": {"M": {"x": {"BS": [b"z"]}, "l": {"L": [{"NULL": True}, {"BOOL": False}, {"N": "3"}]}}},
}


def _typed(value: Any) -> Any:
    """A value with every leaf's type spelled out (2 and 2.0 differ)."""
    if isinstance(value, dict):
        return {key: _typed(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_typed(inner) for inner in value]
    return (type(value).__name__, value)


@pytest.fixture
def compared(in_process_moto: None) -> Iterator[list[tuple[str, Any, Any]]]:
    """Every DynamoDB result while the test runs, parsed from moto's body and from the fast one."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    fast = DynamoResult.execute_result
    seen: list[tuple[str, Any, Any]] = []

    def both(self: Any, context: Any) -> Any:
        answer = fast(self, context)
        if context.operation_model.output_shape is not None and answer[0] == 200:
            parser = create_parser("json")

            def parse(body: str) -> Any:
                return parser.parse({"body": body.encode(), "headers": {}, "status_code": 200}, context.operation_model.output_shape)

            moto_body = ActionResult.execute_result(self, context)[2]  # moto's own serializer
            seen.append((context.operation_model.name, _typed(parse(moto_body)), _typed(parse(answer[2]))))
        return answer

    DynamoResult.execute_result = both  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DynamoResult.execute_result = fast  # type: ignore[method-assign]


def test_every_item_operation_parses_to_the_same_values_and_types(compared: list[tuple[str, Any, Any]]) -> None:
    # GIVEN a table with a GSI and items holding every attribute type
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    # WHEN every item operation runs, with and without capacity, projections, old/new values and pages
    for capacity in ("TOTAL", "INDEXES", "NONE"):
        client.put_item(TableName="t", Item=ITEM, ReturnConsumedCapacity=capacity, ReturnValues="ALL_OLD")
    client.put_item(TableName="t", Item={**ITEM, "sk": {"S": "2"}})
    client.get_item(TableName="t", Key=key, ReturnConsumedCapacity="TOTAL")
    client.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"S": "1"}})
    client.get_item(TableName="t", Key=key, ProjectionExpression="m.l[0], b", ConsistentRead=True)
    client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}, Limit=1,
                 ReturnConsumedCapacity="INDEXES")
    client.query(TableName="t", IndexName="gsi", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}, Select="COUNT")
    client.scan(TableName="t", Limit=1)
    client.scan(TableName="t", FilterExpression="n > :z", ExpressionAttributeValues={":z": {"N": "100"}})
    for returned in ("ALL_NEW", "UPDATED_OLD", "NONE"):
        client.update_item(TableName="t", Key=key, UpdateExpression="SET n = n + :one", ExpressionAttributeValues={":one": {"N": "1"}},
                           ReturnValues=returned, ReturnConsumedCapacity="TOTAL")
    client.batch_get_item(RequestItems={"t": {"Keys": [key, {"pk": {"S": "a"}, "sk": {"S": "9"}}]}}, ReturnConsumedCapacity="TOTAL")
    client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}, {"Get": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"S": "8"}}}}],
                              ReturnConsumedCapacity="TOTAL")
    client.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    client.delete_item(TableName="t", Key=key)
    # THEN each answer parses, through botocore, to the same values of the same types as moto's serializer gives
    operations = {name for name, _, _ in compared}
    assert {"PutItem", "GetItem", "Query", "Scan", "UpdateItem", "BatchGetItem", "TransactGetItems", "DeleteItem"} <= operations
    for name, by_moto, fast in compared:
        assert fast == by_moto, name


def test_it_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.moto_fast_paths import fast_json_enabled, item_response_body

    # GIVEN LOCAL_MOTO_FAST_JSON=0
    monkeypatch.setenv("LOCAL_MOTO_FAST_JSON", "0")
    # THEN the fast path is off (moto serializes), and the body it would write keeps floats and base64
    assert not fast_json_enabled()
    assert item_response_body({"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2, "Table": {"CapacityUnits": 2}}, "Item": {"b": {"B": b"\x00"}}}) == (
        '{"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}}, "Item": {"b": {"B": "AA=="}}}'
    )


def test_random_queries_answer_the_same_with_and_without_narrowing(monkeypatch: pytest.MonkeyPatch, in_process_moto: None) -> None:
    import random

    rng = random.Random(20261203)
    client = boto3.client("dynamodb", region_name="us-east-1")
    # GIVEN a table with a sort key, a GSI with and one without a sort key and an LSI, and a
    # table without a sort key with a GSI; items with colliding and missing index keys
    client.create_table(
        TableName="ranged", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "gs", "AttributeType": "S"},
                              {"AttributeName": "ls", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "g-only", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        LocalSecondaryIndexes=[{"IndexName": "by-ls", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "ls", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}],
    )
    client.create_table(
        TableName="flat", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "flat-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )
    for number in range(150):
        item = {"pk": {"S": f"p{rng.randrange(8)}"}, "sk": {"N": str(rng.randrange(40))}, "v": {"N": str(rng.randrange(5))}}
        if rng.random() < 0.8:
            item["g"] = {"S": f"g{rng.randrange(4)}"}
        if rng.random() < 0.7:
            item["gs"] = {"S": f"s{rng.randrange(6)}"}
        if rng.random() < 0.6:
            item["ls"] = {"N": str(rng.randrange(10))}
        client.put_item(TableName="ranged", Item=item)
        flat = {"pk": {"S": f"f{number % 60}"}, "v": {"N": str(number)}}
        if rng.random() < 0.7:
            flat["g"] = {"S": f"g{rng.randrange(3)}"}
        client.put_item(TableName="flat", Item=flat)

    def random_query() -> dict[str, Any]:
        table, index = rng.choice([("ranged", None), ("ranged", "by-g"), ("ranged", "g-only"), ("ranged", "by-ls"), ("flat", None), ("flat", "flat-g")])
        hash_name, hash_value = ("g", {"S": f"g{rng.randrange(4)}"}) if index in ("by-g", "g-only", "flat-g") else (
            "pk", {"S": f"p{rng.randrange(9)}" if table == "ranged" else f"f{rng.randrange(70)}"})
        request: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "#h = :h", "ExpressionAttributeNames": {"#h": hash_name},
                                   "ExpressionAttributeValues": {":h": hash_value}, "ScanIndexForward": rng.random() < 0.5}
        if index:
            request["IndexName"] = index
        range_key = {"ranged": "sk", "by-g": "gs", "by-ls": "ls"}.get(index or table)
        if range_key and rng.random() < 0.5:
            request["KeyConditionExpression"] += " AND #r BETWEEN :lo AND :hi"
            request["ExpressionAttributeNames"]["#r"] = range_key
            low, high = sorted(rng.sample(range(40), 2))
            typed = (lambda n: {"S": f"s{n % 6}"}) if range_key == "gs" else (lambda n: {"N": str(n)})
            request["ExpressionAttributeValues"].update({":lo": typed(low), ":hi": typed(high)})
            if range_key == "gs" and low % 6 > high % 6:
                request["ExpressionAttributeValues"].update({":lo": typed(high), ":hi": typed(low)})
        if rng.random() < 0.3 and index != "g-only":
            request["FilterExpression"] = "v > :v"
            request["ExpressionAttributeValues"][":v"] = {"N": "1"}
        if rng.random() < 0.5:
            request["Limit"] = rng.randrange(2, 8)
        return request

    def every_page(request: dict[str, Any]) -> list[Any]:
        pages, start = [], None
        while True:
            page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
            pages.append((page["Items"], page["Count"], page["ScannedCount"], page.get("LastEvaluatedKey")))
            start = page.get("LastEvaluatedKey")
            if not start or len(pages) > 200:
                return pages

    # WHEN 150 random queries are each read to their last page with the narrowing on, then off
    requests = [random_query() for _ in range(150)]
    narrowed = [every_page(request) for request in requests]
    monkeypatch.setenv("LOCAL_MOTO_FAST_QUERY", "0")
    plain = [every_page(request) for request in requests]
    # THEN every page of every query is the same: items, order, counts and keys
    for request, fast_pages, moto_pages in zip(requests, narrowed, plain, strict=True):
        assert fast_pages == moto_pages, request
    assert sum(len(items) for pages in plain for items, *_ in pages) > 150  # the queries found things


def test_step_functions_tasks_share_one_client_per_region_and_service(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    # GIVEN the patched factory, also where moto's Lambda task imported it by name
    assert lambda_eval_utils.boto_client_for is boto_client_for
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    # THEN tasks of one region and service share a client (with or without the role ARN moto
    # passes and ignores); another service, region or credentials of another kind get another
    first = boto_client_for("us-east-1", "lambda")
    assert boto_client_for("us-east-1", "lambda") is first
    assert boto_client_for("us-east-1", "lambda", StateCredentials(role_arn=None)) is first
    assert boto_client_for("us-east-1", "lambda", StateCredentials(role_arn="arn:aws:iam::123456789012:role/x")) is first
    # (a probe: moto's own factory signs with its fixed keys whatever the role; if that changes, so must the cache)
    own = boto_client_for.__wrapped__("us-east-1", "lambda", StateCredentials(role_arn="arn:aws:iam::123456789012:role/x"))
    assert own._request_signer._credentials.access_key == "ak"
    assert boto_client_for("us-east-1", "sqs") is not first
    assert boto_client_for("eu-west-1", "lambda") is not first
    assert boto_client_for("us-east-1", "lambda", {"AccessKeyId": "a", "SecretAccessKey": "b"}) is not first
    # AND with the fast paths off every call builds a client, as moto does
    monkeypatch.setenv("LOCAL_MOTO_FAST_PATHS", "0")
    assert boto_client_for("us-east-1", "lambda") is not first


def test_state_machine_definitions_are_parsed_once_and_built_fresh_per_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"n": 1}, "End": True}}})
    # WHEN one definition is parsed twice (two executions)
    first_program, first_tree = AmazonStateLanguageParser.parse(definition)
    second_program, second_tree = AmazonStateLanguageParser.parse(definition)
    # THEN ANTLR parsed it once, and each execution still got its own evaluation components
    assert second_tree is first_tree
    assert second_program is not first_program and type(second_program) is type(first_program)
    # AND a syntax error is still raised every time (never cached)
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": ')
    # AND with the fast paths off each parse is ANTLR's again
    monkeypatch.setenv("LOCAL_MOTO_FAST_PATHS", "0")
    assert AmazonStateLanguageParser.parse(definition)[1] is not first_tree


def test_json_paths_are_compiled_once_and_find_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    from jsonpath_ng.exceptions import JsonPathParserError
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    data = {"order_id": "o-1", "lines": [{"sku": "a"}, {"sku": "b"}], "payment": {"id": "p-1"}}
    # GIVEN what moto's own (uncached) parse finds for each path
    paths = ["$.order_id", "$.lines[1].sku", "$.lines[*].sku", "$.payment", "$"]
    expected = {path: json_path.parse.__wrapped__(path).find(data) for path in paths}
    for path in paths:
        # WHEN a path is read twice (two states, two executions)
        first, second = json_path.parse(path), json_path.parse(path)
        # THEN it was compiled once and finds the same values as moto's own parse
        assert second is first
        assert [m.value for m in first.find(data)] == [m.value for m in expected[path]]
    assert json_path.extract_json("$.payment.id", data) == "p-1"
    # AND ResultPath's parse is cached as well
    assert result_path.parse("$.result") is result_path.parse("$.result")
    # AND a path that does not compile raises every time (never cached)
    for _ in range(2):
        with pytest.raises(JsonPathParserError):
            json_path.parse("$.[[")
    # AND with the fast paths off every read compiles again, as moto does
    monkeypatch.setenv("LOCAL_MOTO_FAST_PATHS", "0")
    assert json_path.parse("$.order_id") is not json_path.parse("$.order_id")


def test_the_action_names_of_a_response_class_are_looked_up_once_and_again_when_it_changes() -> None:
    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    original = responses.method_names_from_class.__wrapped__
    # THEN the remembered names are moto's own
    assert responses.method_names_from_class(DynamoHandler) == original(DynamoHandler)

    # AND a class given a new method afterwards has it at once
    class Handler(DynamoHandler):
        pass

    assert "brand_new_action" not in responses.method_names_from_class(Handler)
    Handler.brand_new_action = lambda self: None
    assert "brand_new_action" in responses.method_names_from_class(Handler)


def _tree_shape(node: Any) -> Any:
    """An expression tree as nested (type, children or value) tuples, to compare two trees."""
    children = getattr(node, "children", None)
    if children is None:
        return (type(node).__name__, repr(node))
    return (type(node).__name__, tuple(_tree_shape(child) for child in children))


def test_update_expressions_are_parsed_once_and_never_changed_by_an_update(
    in_process_moto: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN moto's UpdateExpression parser with the cache, and a table with an item
    from moto.dynamodb.exceptions import InvalidUpdateExpression
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    expression = "SET n = n + :one, tags = list_append(tags, :more) REMOVE gone"
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = f"t-{id(client)}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "tags": {"L": []}, "gone": {"S": "x"}})
    tree = UpdateExpressionParser.make(expression)
    shape = _tree_shape(tree)
    # WHEN the expression is applied twice
    for _ in range(2):
        client.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression=expression,
                           ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"L": [{"S": "t"}]}})
    # THEN both updates applied, from the one tree parsed, which neither update changed
    item = client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    assert item == {"pk": {"S": "a"}, "n": {"N": "3"}, "tags": {"L": [{"S": "t"}, {"S": "t"}]}}
    assert UpdateExpressionParser.make(expression) is tree
    assert _tree_shape(tree) == shape == _tree_shape(UpdateExpressionParser.make.__wrapped__(UpdateExpressionParser, expression))
    # AND a text that does not parse raises every time; switched off, each parse is a new tree
    for _ in range(2):
        with pytest.raises(InvalidUpdateExpression):
            UpdateExpressionParser.make("SET = oops")
    monkeypatch.setenv("LOCAL_MOTO_FAST_EXPRESSIONS", "0")
    assert UpdateExpressionParser.make(expression) is not UpdateExpressionParser.make(expression)


# Expressions of the shapes the product writes (pynamodb's actions, the stores' SET lists, ADD on
# counters and sets, nested paths), each applied to the same item with the fast paths on and off.
UPDATES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("SET #s = :s, #v = if_not_exists(#v, :zero) + :one REMOVE #e",
     {"#s": "status", "#v": "version", "#e": "expires_at"}, {":s": {"S": "PAID"}, ":zero": {"N": "0"}, ":one": {"N": "1"}}),
    ("SET #l = list_append(if_not_exists(#l, :empty), :more), #m.#u = :now",
     {"#l": "lines", "#m": "meta", "#u": "updated"},
     {":empty": {"L": []}, ":more": {"L": [{"M": {"qty": {"N": "5"}}}]}, ":now": {"N": "7"}}),
    ("ADD #r :two, #t :tag DELETE #o :gone", {"#r": "reserved", "#t": "tags", "#o": "old_tags"},
     {":two": {"N": "2"}, ":tag": {"SS": ["t"]}, ":gone": {"SS": ["x"]}}),
    ("SET #l[0].#q = #l[0].#q - :one, #c.#k = :one REMOVE #l[1]", {"#l": "lines", "#q": "qty", "#c": "counts", "#k": "b"},
     {":one": {"N": "1"}}),
]


def _node_values(value: Any) -> Any:
    """A tree's classes and attribute values, nested (parent links left out: they point back up)."""
    if isinstance(value, (list, tuple)):
        return tuple(_node_values(v) for v in value)
    if hasattr(value, "__dict__"):
        return (type(value).__name__, tuple(sorted((k, _node_values(v)) for k, v in vars(value).items() if k != "parent")))
    return value


def _item() -> dict[str, Any]:
    return {"pk": {"S": "a"}, "status": {"S": "NEW"}, "expires_at": {"N": "9"}, "reserved": {"N": "1"},
            "old_tags": {"SS": ["x", "y"]}, "meta": {"M": {}}, "counts": {"M": {"a": {"N": "1"}}},
            "lines": {"L": [{"M": {"qty": {"N": "3"}}}, {"M": {"qty": {"N": "1"}}}]}}


def test_update_expressions_apply_the_same_from_the_validators_pickled_copy(
    in_process_moto: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from local.moto_fast_paths import _plain_tree

    client = boto3.client("dynamodb", region_name="us-east-1")
    results: dict[str, list[Any]] = {}
    for switch in ("1", "0"):
        # GIVEN the fast expression paths on, then off, and a fresh item each time
        monkeypatch.setenv("LOCAL_MOTO_FAST_EXPRESSIONS", switch)
        table = f"pickled-{switch}-{id(client)}"
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        client.put_item(TableName=table, Item=_item())
        # WHEN every expression is applied, twice (the second from a cached tree)
        for expression, names, values in UPDATES * 2:
            extra = {"ExpressionAttributeNames": names} if names else {}
            client.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression=expression,
                               ExpressionAttributeValues=values, **extra)
        results[switch] = client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    # THEN the item is the same either way
    assert results["1"] == results["0"]
    assert results["1"]["version"] == {"N": "2"} and results["1"]["reserved"] == {"N": "5"}
    # AND each of these trees is plain, so its copy came from its pickle: a new tree, same shape, links intact
    monkeypatch.setenv("LOCAL_MOTO_FAST_EXPRESSIONS", "1")
    import local.moto_fast_paths as fast_paths

    loads = fast_paths.pickle.loads
    unpickled: list[bytes] = []
    monkeypatch.setattr(fast_paths.pickle, "loads", lambda data: unpickled.append(data) or loads(data))
    for expression, _, _ in UPDATES:
        tree = UpdateExpressionParser.make(expression)
        assert _plain_tree(tree), expression
        before = len(unpickled)
        copied = validators.deepcopy(tree)
        assert len(unpickled) == before + 1, expression  # the pickle path, not moto's deepcopy
        assert copied is not tree and _node_values(copied) == _node_values(tree)
        assert all(child.parent is copied for child in copied.children if child.parent is not None)
    # AND anything else is deep-copied as moto does
    other = {"a": [1, 2]}
    assert validators.deepcopy(other) == other and validators.deepcopy(other) is not other
