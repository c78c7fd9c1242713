"""Conditional writes stay exact under concurrency on the patched moto server.

Stock moto checks a ConditionExpression and writes without a lock, so concurrent requests
interleave (oversell, lost or double-applied updates); `local.moto_patches` serialises DynamoDB
request handling. These tests hammer one item from 200 threads through the real HTTP server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

THREADS = 200


@pytest.fixture(scope="module")
def table(moto_server: Any) -> Any:
    """GIVEN a DynamoDB table on the patched moto server and a client sized for 200 threads."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        # One shared client (clients are thread-safe); enough pooled connections for the threads,
        # and no SDK retries so every request is counted exactly once.
        config=Config(max_pool_connections=THREADS, retries={"total_max_attempts": 1}),
    )
    name = f"counters-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client, name
    client.delete_table(TableName=name)


def _run_concurrently(count: int, work: Callable[[int], bool]) -> list[bool]:
    """Run work(0..count-1) on `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def task(i: int) -> bool:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


def _conditional_update(client: Any, **kwargs: Any) -> bool:
    """True if the write was applied, False if its condition failed (anything else raises)."""
    try:
        client.update_item(**kwargs)
        return True
    except client.exceptions.ConditionalCheckFailedException:
        return False


def test_idempotent_increments_lose_nothing_and_apply_once(table: Any) -> None:
    client, name = table
    key = {"pk": {"S": "idempotent"}}

    # WHEN 200 threads each send their increment twice (a client retry), guarded per request
    # by attribute_not_exists(applied_<i>)
    def increment(i: int) -> bool:
        request = dict(
            TableName=name,
            Key=key,
            UpdateExpression="SET #applied = :true ADD #counter :one",
            ConditionExpression="attribute_not_exists(#applied)",
            ExpressionAttributeNames={"#applied": f"applied_{i}", "#counter": "counter"},
            ExpressionAttributeValues={":true": {"BOOL": True}, ":one": {"N": "1"}},
        )
        first = _conditional_update(client, **request)
        second = _conditional_update(client, **request)
        assert not (first and second), f"request {i} applied twice"
        return first or second

    applied = _run_concurrently(THREADS, increment)

    # THEN every request was applied exactly once and the counter equals the successes
    item = client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
    assert all(applied)
    assert int(item["counter"]["N"]) == sum(applied) == THREADS
    assert {k for k in item if k.startswith("applied_")} == {f"applied_{i}" for i in range(THREADS)}


def test_guarded_decrements_never_oversell(table: Any) -> None:
    client, name = table
    key = {"pk": {"S": "stock"}}
    stock = 150
    client.put_item(TableName=name, Item={**key, "available": {"N": str(stock)}, "sold": {"N": "0"}})

    # WHEN 200 threads each try to buy one of 150 units (condition: available > 0)
    def buy(i: int) -> bool:
        return _conditional_update(
            client,
            TableName=name,
            Key=key,
            UpdateExpression="SET #buyer = :true ADD available :minus_one, sold :one",
            ConditionExpression="available > :zero",
            ExpressionAttributeNames={"#buyer": f"buyer_{i}"},
            ExpressionAttributeValues={
                ":true": {"BOOL": True},
                ":minus_one": {"N": "-1"},
                ":one": {"N": "1"},
                ":zero": {"N": "0"},
            },
        )

    bought = _run_concurrently(THREADS, buy)

    # THEN exactly 150 succeed, stock ends at zero, and every success (only those) is recorded
    item = client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
    assert sum(bought) == stock
    assert int(item["available"]["N"]) == 0
    assert int(item["sold"]["N"]) == stock
    assert {k for k in item if k.startswith("buyer_")} == {f"buyer_{i}" for i, ok in enumerate(bought) if ok}
