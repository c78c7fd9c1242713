"""local.moto_direct_dispatch: DynamoDB requests handed straight to moto's DynamoHandler, with an
unchecked signature, answer exactly as through moto's stubber, errors and retries included."""

from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.moto_direct_dispatch import UNCHECKED_SIGNATURE

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ITEM = {
    "pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "x"}, "b": {"B": b"\x00\x01"}, "n": {"N": "1.50"},
    "ss": {"SS": ["q", "r"]}, "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}, {"N": "3"}]}}},
}


VARYING = frozenset({"TableId"})  # differs between any two tables: compared by type only


def _typed(value: Any) -> Any:
    """A value with every leaf's type spelled out (2 and 2.0, bytes and str differ); times and
    ids that differ between two runs by their type alone."""
    if isinstance(value, dict):
        return {key: (type(inner).__name__,) if key in VARYING else _typed(inner) for key, inner in value.items()}
    if isinstance(value, datetime.datetime):
        return ("datetime",)
    if isinstance(value, list):
        return [_typed(inner) for inner in value]
    return (type(value).__name__, value)


def _outcome(call: Callable[[], Any]) -> Any:
    """What the caller sees: the parsed answer (less the request's id, date and checksum), or
    the error's class, status, code, message and the rest of its modelled fields."""
    try:
        answer = call()
    except ClientError as error:
        response = dict(error.response)
        metadata = response.pop("ResponseMetadata", {})
        return ("error", type(error).__name__, metadata.get("HTTPStatusCode"), _typed(response))
    answer = dict(answer)
    metadata = answer.pop("ResponseMetadata", {})
    return ("ok", metadata.get("HTTPStatusCode"), _typed(answer))


def _renamed(value: Any, table: str) -> Any:
    if isinstance(value, dict):
        return {_renamed(key, table): _renamed(inner, table) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_renamed(inner, table) for inner in value)
    return value.replace(table, "t") if isinstance(value, str) else value


def _table() -> str:
    """A table name of its own: moto's state is shared with whatever else runs in this process."""
    return f"t-{uuid.uuid4().hex[:8]}"


def _scenario(client: Any, table: str) -> list[Any]:
    """Every kind of DynamoDB request the product makes, and the errors it meets, on a new table
    (named `table` in the requests and "t" in the outcomes)."""
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    steps: list[Callable[[], Any]] = [
        lambda: client.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=KEY_SCHEMA,
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "g")],
            GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}]),
        lambda: client.put_item(TableName=table, Item=ITEM, ReturnConsumedCapacity="TOTAL"),
        lambda: client.put_item(TableName=table, Item=ITEM, ConditionExpression="attribute_not_exists(pk)",
                                ReturnValuesOnConditionCheckFailure="ALL_OLD"),
        lambda: client.get_item(TableName=table, Key=key, ConsistentRead=True),
        lambda: client.get_item(TableName=table, Key=key, ProjectionExpression="m.l[2], b"),
        lambda: client.get_item(TableName="missing", Key=key),
        lambda: client.update_item(TableName=table, Key=key, UpdateExpression="SET n = n + :one ADD ss :s",
                                   ConditionExpression="n >= :z", ReturnValues="ALL_NEW",
                                   ExpressionAttributeValues={":one": {"N": "1"}, ":z": {"N": "0"}, ":s": {"SS": ["t"]}}),
        lambda: client.update_item(TableName=table, Key=key, UpdateExpression="SET n = :v", ConditionExpression="n > :big",
                                   ExpressionAttributeValues={":v": {"N": "9"}, ":big": {"N": "100"}}),
        lambda: client.update_item(TableName=table, Key=key, UpdateExpression="SET n = :v",
                                   ExpressionAttributeValues={":w": {"N": "9"}}),  # an undefined value
        lambda: client.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                             Limit=1, ReturnConsumedCapacity="INDEXES"),
        lambda: client.query(TableName=table, IndexName="gsi", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": {"S": "x"}}, Select="COUNT"),
        lambda: client.scan(TableName=table, FilterExpression="n > :z", ExpressionAttributeValues={":z": {"N": "100"}}),
        lambda: client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**ITEM, "sk": {"S": str(i)}}}}
                                                            for i in range(2, 6)]}),
        lambda: client.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "a"}, "sk": {"S": str(i)}} for i in range(1, 4)],
                                                          "ConsistentRead": True}}),
        lambda: client.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET n = n - :one", "ConditionExpression": "n >= :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]),
        lambda: client.transact_write_items(TransactItems=[  # cancelled: the second put's condition fails
            {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}, "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ]),
        lambda: client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}},
                                                         {"Get": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}}]),
        lambda: client.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD"),
        lambda: client.delete_item(TableName=table, Key=key, ConditionExpression="attribute_exists(pk)"),
        lambda: client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}),
        lambda: client.describe_time_to_live(TableName=table),
    ]
    return [_renamed(_outcome(step), table) for step in steps]


@pytest.fixture
def fresh_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """moto in this process, patched as the stack patches it; each call starts it afresh with
    direct dispatch on ("1") or off ("0") and gives a DynamoDB client."""
    from moto import mock_aws

    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mocks: list[Any] = []

    def start(direct: str) -> Any:
        if mocks:
            mocks.pop().stop()
        monkeypatch.setenv("LOCAL_MOTO_DIRECT_DISPATCH", direct)
        mock = mock_aws()
        mock.start()
        mocks.append(mock)
        return boto3.client("dynamodb", region_name="us-east-1")

    yield start
    while mocks:
        mocks.pop().stop()


def _spy_on_stubber(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the requests that took moto's own stubber path (process_request)."""
    from moto.core.botocore_stubber import BotocoreStubber

    seen: list[str] = []
    original = BotocoreStubber.process_request

    def process_request(self: Any, request: Any) -> Any:
        seen.append(request.url)
        return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)
    return seen


def _authorizations(client: Any) -> list[str]:
    """The Authorization header of each request the client sends, as sent."""
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        value = request.headers.get("Authorization")
        sent.append(value.decode() if isinstance(value, bytes) else str(value))

    client.meta.events.register_first("before-send", record)
    return sent


def test_every_request_and_error_answers_the_same_both_ways(fresh_moto: Callable[[str], Any]) -> None:
    # GIVEN the same requests, against a fresh moto with direct dispatch on, then off
    # WHEN each runs
    first, second = _table(), _table()
    direct = _scenario(fresh_moto("1"), first)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    written_to = [(account, region) for account in dynamodb_backends for region in dynamodb_backends[account].regions
                  if region in dynamodb_backends[account] and first in dynamodb_backends[account][region].tables]
    through_the_stubber = _scenario(fresh_moto("0"), second)
    # THEN the direct requests reached the account and region the stubber's do, and every
    # answer and every error is the same, values and types
    assert written_to == [(DEFAULT_ACCOUNT_ID, "us-east-1")]
    assert [outcome[0] for outcome in direct].count("error") == 6  # the scenario meets its errors
    for index, (mine, moto) in enumerate(zip(direct, through_the_stubber, strict=True)):
        assert mine == moto, f"step {index}"


def test_dynamodb_requests_skip_the_stubber_and_carry_an_unchecked_signature(
    fresh_moto: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a spy on moto's stubber path and on what the clients send
    stubbed = _spy_on_stubber(monkeypatch)
    dynamodb = fresh_moto("1")
    dynamo_auth = _authorizations(dynamodb)
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs_auth = _authorizations(sqs)
    # WHEN DynamoDB and another service are called
    dynamodb.list_tables()
    sqs.list_queues()
    # THEN only the other service took the stubber's path; DynamoDB's request named its
    # credential scope with a zero signature, while the other was signed for real
    assert [url for url in stubbed if "dynamodb" in url] == []
    assert any("sqs" in url for url in stubbed)
    assert dynamo_auth[0].startswith("AWS4-HMAC-SHA256 Credential=") and "/us-east-1/dynamodb/aws4_request" in dynamo_auth[0]
    assert dynamo_auth[0].endswith(f"Signature={UNCHECKED_SIGNATURE}")
    assert not sqs_auth[0].endswith(f"Signature={UNCHECKED_SIGNATURE}")


def test_it_can_be_switched_off(fresh_moto: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN direct dispatch off
    stubbed = _spy_on_stubber(monkeypatch)
    dynamodb = fresh_moto("0")
    sent = _authorizations(dynamodb)
    # WHEN DynamoDB is called
    dynamodb.list_tables()
    # THEN the request went through moto's stubber, signed as botocore signs
    assert any("dynamodb" in url for url in stubbed)
    assert not sent[0].endswith(f"Signature={UNCHECKED_SIGNATURE}")


def test_botocore_still_retries_a_throttled_write(fresh_moto: Callable[[str], Any]) -> None:
    # GIVEN a table whose items are metered at 10 WCU/s (one second of burst), as a hot item is
    from local import capacity

    dynamodb = fresh_moto("1")
    table = _table()
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=KEY_SCHEMA,
                          AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")])
    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"mode": "standard", "max_attempts": 10}))
    key = {"pk": {"S": "hot"}, "sk": {"S": "1"}}
    with capacity.metered(10) as meter:
        # WHEN 15 increments of one item are sent back to back
        retries = [client.update_item(TableName=table, Key=key, UpdateExpression="ADD n :one",
                                      ExpressionAttributeValues={":one": {"N": "1"}})["ResponseMetadata"]["RetryAttempts"]
                   for _ in range(15)]
        throttled = meter.throttles
    # THEN moto throttled some, botocore's own retry loop sent those again, and every one applied once
    assert throttled > 0
    assert sum(retries) == throttled
    assert client.get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "15"}


def test_binary_values_go_in_and_come_out_as_bytes(fresh_moto: Callable[[str], Any]) -> None:
    # GIVEN a table and an item with a binary attribute, written directly
    dynamodb = fresh_moto("1")
    table = _table()
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=KEY_SCHEMA,
                          AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")])
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "b": {"B": b"\xff\x00"}})
    # WHEN it is read back
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]
    # THEN the bytes are the bytes written (base64 on the wire both ways, as on AWS)
    assert item["b"] == {"B": b"\xff\x00"}
    assert base64.b64encode(item["b"]["B"]) == b"/wA="


def test_a_client_given_an_endpoint_url_still_goes_over_http(fresh_moto: Callable[[str], Any]) -> None:
    # GIVEN direct dispatch on, and a DynamoDB client pointed at an address where nothing listens
    from botocore.exceptions import EndpointConnectionError

    fresh_moto("1")
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    sent = _authorizations(client)
    # WHEN it is called
    # THEN the request went to that address (and failed to connect), signed as botocore signs:
    # only DynamoDB's own endpoint, which moto's stubber answers, is dispatched in-process
    with pytest.raises(EndpointConnectionError):
        client.list_tables()
    assert sent and not sent[0].endswith(f"Signature={UNCHECKED_SIGNATURE}")
