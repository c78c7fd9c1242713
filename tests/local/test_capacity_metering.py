"""The local stack's per-item write capacity switch (ADR 0023): off by default; on, two
transactions on one item at once give DynamoDB's TransactionConflict, and the write paths of
inventory, categories and orders retry it or answer a clear 503, never a 500."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from local.capacity import metered


def _client(local_stack):
    return boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint)


def _bump(table: str, pk: str) -> dict:
    return {"Update": {"TableName": table, "Key": {"pk": {"S": pk}, "sk": {"S": "METER"}},
                       "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def test_off_by_default_back_to_back_transactions_on_one_item_both_commit(local_stack):
    # GIVEN the local stack as it starts (no metering)
    client, table, pk = _client(local_stack), local_stack.physical_name("InventoryTable"), f"METER#{uuid.uuid4().hex}"
    # WHEN two transactions touch one item back to back
    client.transact_write_items(TransactItems=[_bump(table, pk)])
    client.transact_write_items(TransactItems=[_bump(table, pk)])
    # THEN both committed
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "METER"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "2"}


def test_metered_a_transaction_on_an_item_in_flight_is_cancelled_with_transaction_conflict(local_stack):
    client, table = _client(local_stack), local_stack.physical_name("InventoryTable")
    pk, other = f"METER#{uuid.uuid4().hex}", f"METER#{uuid.uuid4().hex}"
    # GIVEN metering at 4 WCU/s per item: a transaction keeps its items in flight for 0.5 s
    with metered(4) as meter:
        # (its caller hears back once it committed, 0.5 s later: another writer meets it in flight)
        import threading

        took: list[float] = []

        def first() -> None:
            began = time.monotonic()
            client.transact_write_items(TransactItems=[_bump(table, pk)])
            took.append(time.monotonic() - began)

        writer = threading.Thread(target=first)
        writer.start()
        deadline = time.monotonic() + 5
        while "Item" not in client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "METER"}}, ConsistentRead=True):
            assert time.monotonic() < deadline, "the first transaction never applied"
            time.sleep(0.01)

        # WHEN a second transaction touches that item (and another) at once
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(TransactItems=[_bump(table, other), _bump(table, pk)])
        # AND a single write hits it too
        with pytest.raises(ClientError) as single:
            client.update_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "METER"}},
                               UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})

        # THEN the transaction is cancelled as DynamoDB does: TransactionConflict for that item only
        assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert [r["Code"] for r in cancelled.value.response["CancellationReasons"]] == ["None", "TransactionConflict"]
        assert single.value.response["Error"]["Code"] == "TransactionConflictException"
        assert meter.conflicts == 2
        # AND the first transaction answered only once it was no longer in flight
        writer.join(5)
        assert took and took[0] >= 0.45, took

        # AND once the first is no longer in flight, the item takes writes again
        time.sleep(0.05)
        client.transact_write_items(TransactItems=[_bump(table, other), _bump(table, pk)])
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "METER"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "2"}  # the cancelled writes changed nothing


def test_metered_an_items_wcu_runs_out_and_single_writes_are_throttled(local_stack):
    table, pk = local_stack.physical_name("InventoryTable"), f"METER#{uuid.uuid4().hex}"
    key = {"pk": {"S": pk}, "sk": {"S": "METER"}}
    # GIVEN 1 WCU/s per item (a burst of one transaction's worth: 2 single writes)
    with metered(1) as meter:
        # WHEN single writes hit one item faster than that (the SDK's own retries disabled)
        from botocore.config import Config

        raw = boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint,
                           config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        codes = []
        for _ in range(6):
            try:
                raw.put_item(TableName=table, Item={**key, "n": {"N": "1"}})
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        throttles = meter.throttles
    # THEN the burst passes and what exceeds the refill is throttled as DynamoDB does
    assert codes[0] == "ok", codes
    assert set(codes) == {"ok", "ThrottlingException"}, codes
    assert throttles >= codes.count("ThrottlingException") >= 1  # the meter counts the stack's own writes too


def test_metered_concurrent_categories_under_one_parent_are_created_or_told_503_never_500(local_stack, admin):
    # GIVEN a parent category, and metering slow enough that its condition check conflicts
    parent = admin.post("/api/v1/categories", json={"name": f"Meter {uuid.uuid4().hex[:6]}"}).json()["data"]
    barrier = threading.Barrier(8)

    def create(index: int) -> int:
        session = requests.Session()
        session.headers.update(admin.session.headers)
        barrier.wait()
        return session.post(f"{local_stack.url}/api/v1/categories", timeout=60,
                            json={"name": f"Child {index}", "parent_id": parent["category_id"]}).status_code

    # WHEN 8 admins create children of it at once
    with metered(20) as meter, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(8)))
        conflicts = meter.conflicts

    # THEN they met DynamoDB's conflicts, and each got a success or a clear 503, never a 500
    assert conflicts > 0
    assert set(statuses) <= {201, 503}, statuses
    assert statuses.count(201) >= 1
