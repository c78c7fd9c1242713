"""CPU per DynamoDB call on moto in this process, every local patch applied: DynamoDB's requests
straight to moto's DynamoHandler with an unchecked signature (ADR 0037) against moto's own
stubber path (LOCAL_MOTO_DIRECT_DISPATCH=0), interleaved, several rounds; medians."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

CALLS = 400  # per operation, per round
ROUNDS = 3  # on, off, on, off, ...


def _operations(client: Any, table: str) -> dict[str, Callable[[int], Any]]:
    def key(i: int) -> dict[str, Any]:
        return {"pk": {"S": f"p{i % 50}"}, "sk": {"S": "s"}}

    one = {":one": {"N": "1"}, ":z": {"N": "0"}}
    return {
        "GetItem": lambda i: client.get_item(TableName=table, Key=key(i), ConsistentRead=True),
        "Query": lambda i: client.query(TableName=table, KeyConditionExpression="pk = :p",
                                        ExpressionAttributeValues={":p": {"S": f"p{i % 50}"}}),
        "UpdateItem with a condition": lambda i: client.update_item(
            TableName=table, Key=key(i), UpdateExpression="SET a = a + :one",
            ConditionExpression="attribute_exists(pk) AND a >= :z", ExpressionAttributeValues=one),
        "TransactWriteItems, 2 items": lambda i: client.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": key(i), "UpdateExpression": "SET a = a + :one",
                        "ConditionExpression": "a >= :z", "ExpressionAttributeValues": one}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": uuid.uuid4().hex}, "sk": {"S": "s"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ]),
    }


def report() -> str:
    import boto3
    from moto import mock_aws

    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    previous = os.environ.get("LOCAL_MOTO_DIRECT_DISPATCH")
    mock = mock_aws()
    mock.start(reset=False)
    try:
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=None)
        table = f"bench-calls-{uuid.uuid4().hex[:8]}"
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        for i in range(50):
            client.put_item(TableName=table, Item={"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "a": {"N": "1"},
                                                   "b": {"S": "x" * 50}, "m": {"M": {"k": {"S": "v"}}}})
        operations = _operations(client, table)
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(ROUNDS):
            for mode in ("1", "0"):
                os.environ["LOCAL_MOTO_DIRECT_DISPATCH"] = mode
                for name, call in operations.items():
                    call(0)  # warm
                    began = time.process_time()
                    for i in range(CALLS):
                        call(i)
                    samples.setdefault((name, mode), []).append((time.process_time() - began) / CALLS * 1000)
    finally:
        if previous is None:
            os.environ.pop("LOCAL_MOTO_DIRECT_DISPATCH", None)
        else:
            os.environ["LOCAL_MOTO_DIRECT_DISPATCH"] = previous
        mock.stop(remove_data=False)
    lines = [
        f"## DynamoDB calls on moto in-process: straight to its DynamoHandler vs through moto's stubber "
        f"(CPU ms per call, median of {ROUNDS} interleaved rounds of {CALLS})",
        "",
        "| call | direct (ADR 0037) | moto's stubber | stubber / direct |",
        "|---|---:|---:|---:|",
    ]
    for name in operations:
        direct, stubbed = statistics.median(samples[(name, "1")]), statistics.median(samples[(name, "0")])
        lines.append(f"| {name} | {direct:.2f} | {stubbed:.2f} | **{stubbed / direct:.2f}x** |")
    lines += ["", "Both paths run botocore in full (validation, serialization, retries, parsing) and moto's "
              "same DynamoHandler with every local patch; the direct one skips the stubber's WSGI request, URL "
              "matching and generic setup, and the SigV4 HMACs moto never checks."]
    return "\n".join(lines)
