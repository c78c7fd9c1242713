"""shared.idempotency on moto in this process: a retry with a taken key writes nothing.

On AWS a claim that fails its condition is still a transaction on the key's item; clients
resending every few hundred ms would keep that item in flight, and the first request's own
`complete` would meet TransactionConflict until it gave up (what the metered checkout test saw
in CI). So a retry must read the key and answer from it without writing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from shared import idempotency
from shared.errors import IdempotencyInProgress, IdempotencyKeyReused
from shared.tables import connection

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # A name of its own: in a process that also runs a local stack, moto's backends are that
    # stack's (mock_aws neither resets nor clears them there).
    name = f"idempotency-{uuid.uuid4().hex[:12]}"
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        )
        connection.cache_clear()
        calls: list[str] = []
        connection().client.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
        yield name, calls
        connection.cache_clear()
        client.delete_table(TableName=name)


def _claim(table: str, fingerprint: str = "hash-1", resource: str = "ord_1") -> idempotency.Claim:
    return idempotency.claim(table, "orders", "user-1", "key-1", fingerprint, resource)


def test_a_retry_while_the_first_request_runs_is_in_progress_and_writes_nothing(table) -> None:
    name, calls = table
    # GIVEN a first request that claimed its key and is still running
    first = _claim(name)
    assert first.resource_id == "ord_1" and first.replay is None
    # WHEN the client resends it (and again)
    calls.clear()
    for _ in range(3):
        with pytest.raises(IdempotencyInProgress):
            _claim(name, resource="ord_2")
    # THEN each retry was answered from a read: nothing was written to the key's item
    assert calls and not WRITES & set(calls), calls
    # AND the first request can still complete it, after which a retry replays its answer, read only
    idempotency.complete(first, 201, '{"data": {"order_id": "ord_1"}}')
    calls.clear()
    replay = _claim(name, resource="ord_3")
    assert replay.resource_id == "ord_1"
    assert replay.replay == {"status": 201, "body": '{"data": {"order_id": "ord_1"}}', "headers": {}}
    assert not WRITES & set(calls), calls


def test_the_key_with_another_body_is_refused_without_a_write(table) -> None:
    name, calls = table
    # GIVEN a key taken by one request
    _claim(name)
    calls.clear()
    # WHEN another request body comes with it
    with pytest.raises(IdempotencyKeyReused):
        _claim(name, fingerprint="hash-2")
    # THEN it is refused from a read
    assert not WRITES & set(calls), calls


def test_a_fresh_key_is_claimed_with_one_conditional_transaction(table) -> None:
    name, calls = table
    # WHEN a key is used for the first time
    calls.clear()
    claim = _claim(name)
    # THEN it is read once (absent) and claimed in one transaction
    assert calls == ["GetItem", "TransactWriteItems"], calls
    assert claim.replay is None
