"""local.moto_fast_paths: DynamoDB item responses written as plain JSON parse to exactly what
moto's own serializer gives (values and types), for every kind of item result."""

from __future__ import annotations

import os
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
def compared() -> Iterator[list[tuple[str, Any, Any]]]:
    """Every DynamoDB result while the test runs, parsed from moto's body and from the fast one."""
    from moto import mock_aws
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
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

    previous = {key: os.environ.get(key) for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    DynamoResult.execute_result = both  # type: ignore[method-assign]
    try:
        with mock_aws():
            yield seen
    finally:
        DynamoResult.execute_result = fast  # type: ignore[method-assign]
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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


def test_it_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, compared: list[tuple[str, Any, Any]]) -> None:
    from local.moto_fast_paths import fast_json_enabled, item_response_body

    # GIVEN LOCAL_MOTO_FAST_JSON=0
    monkeypatch.setenv("LOCAL_MOTO_FAST_JSON", "0")
    # THEN the fast path is off (moto serializes), and the body it would write keeps floats and base64
    assert not fast_json_enabled()
    assert item_response_body({"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2, "Table": {"CapacityUnits": 2}}, "Item": {"b": {"B": b"\x00"}}}) == (
        '{"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}}, "Item": {"b": {"B": "AA=="}}}'
    )
