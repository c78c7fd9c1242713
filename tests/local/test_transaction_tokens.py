"""local.moto_patches: TransactWriteItems honours ClientRequestToken as DynamoDB does, so the
SDK's retry of a transaction whose answer was lost is applied once."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(in_process_moto: None) -> tuple[object, str]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="tokens", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return client, "tokens"


def _bump(table: str, pk: str, version: int) -> dict:
    return {"Update": {"TableName": table, "Key": {"pk": {"S": pk}},
                       "UpdateExpression": "SET n = if_not_exists(n, :zero) + :one, version = :next",
                       "ConditionExpression": "attribute_not_exists(version) OR version = :version",
                       "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"},
                                                     ":version": {"N": str(version)}, ":next": {"N": str(version + 1)}}}}


def test_a_transaction_repeated_with_its_token_is_applied_once(table) -> None:
    client, name = table
    token = uuid.uuid4().hex  # tokens are remembered process-wide, as DynamoDB remembers them per account
    # GIVEN a conditional transaction sent with a token
    client.transact_write_items(TransactItems=[_bump(name, "a", 0)], ClientRequestToken=token)
    # WHEN the same request comes again with that token (the SDK retrying a lost answer)
    client.transact_write_items(TransactItems=[_bump(name, "a", 0)], ClientRequestToken=token)
    # THEN it succeeds without being applied again (its condition would now fail)
    item = client.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "1"}
    # AND the same token on other items is refused, changing nothing
    with pytest.raises(ClientError) as mismatch:
        client.transact_write_items(TransactItems=[_bump(name, "b", 0)], ClientRequestToken=token)
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert "Item" not in client.get_item(TableName=name, Key={"pk": {"S": "b"}}, ConsistentRead=True)
    # AND without a token of its own (another call: botocore makes a new one), the condition decides
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=[_bump(name, "a", 0)])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
