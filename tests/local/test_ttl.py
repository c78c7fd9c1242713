"""DynamoDB TTL on the local stack: local.ttl.TtlSweeper deletes due items, and their REMOVE
records reach stream consumers marked as TTL deletions, as in AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.resources import deploy_queues, deploy_tables
from local.streams import StreamPoller
from local.ttl import TTL_USER_IDENTITY, TtlSweeper
from tests.fixtures import stream_consumers as consumers
from tests.support.cdk import synth_template

FIVE_YEARS = 5 * 365 * 24 * 3600


def _build(asset_dir: Path) -> Callable[[Any], None]:
    def build(stack: Any) -> None:
        from aws_cdk import aws_dynamodb as dynamodb
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_lambda_event_sources as sources
        from aws_cdk import aws_sqs as sqs

        table = dynamodb.Table(
            stack,
            "SessionsTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute="expiresAt",
        )
        function = lambda_.Function(
            stack,
            "SessionsConsumer",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=lambda_.Code.from_asset(str(asset_dir)),
            handler="tests.fixtures.stream_consumers.recording_consumer",
        )
        function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                retry_attempts=2,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(sqs.Queue(stack, "SessionsOnFailure")),
            )
        )

    return build


class Stack:
    def __init__(self, deployment: Deployment, poller: StreamPoller, sweeper: TtlSweeper) -> None:
        self.deployment = deployment
        self.poller = poller
        self.sweeper = sweeper
        self.dynamodb = boto3.client("dynamodb")
        self.table = next(iter(deployment.resources_of_type("AWS::DynamoDB::Table")))
        self.function = next(iter(deployment.functions()))

    def put(self, pk: str, **attributes: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.table, Item={"pk": {"S": pk}, **attributes})

    def exists(self, pk: str) -> bool:
        return "Item" in self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)

    def removes(self) -> dict[str, dict[str, Any]]:
        """pk -> the REMOVE record the consumer received for it."""
        return {
            consumers.pk_of(r): r for batch in consumers.INVOCATIONS[self.function] for r in batch if r["eventName"] == "REMOVE"
        }


@pytest.fixture(scope="module")
def stack(moto_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    asset_dir = consumers.stage_handler_asset(tmp_path_factory.mktemp("ttl-consumers-asset"))
    deployment = Deployment(synth_template(_build(asset_dir), stack_name="TtlTestStack"))
    deploy_tables(deployment, boto3.client("dynamodb"))
    deploy_queues(deployment, boto3.client("sqs"))
    poller = StreamPoller(deployment, LambdaRuntime(deployment.functions()))
    return Stack(deployment, poller, TtlSweeper(deployment, interval=0.05))


@pytest.fixture(autouse=True)
def clean_consumers(stack: Stack) -> Any:
    stack.poller.poll_once()  # whatever an earlier test left in the stream
    consumers.reset()
    yield
    consumers.reset()


def number(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


def test_expired_items_are_deleted_and_their_remove_records_are_marked_as_ttl(stack: Stack) -> None:
    now = time.time()
    # GIVEN an expired item (with a binary attribute), an unexpired one, items whose TTL
    # DynamoDB ignores (not a Number; more than five years in the past) and one without TTL
    stack.put("expired", expiresAt=number(now - 60), blob={"B": b"\x00\xffsession"})
    stack.put("fresh", expiresAt=number(now + 3600))
    stack.put("string-ttl", expiresAt={"S": str(int(now - 60))})
    stack.put("ancient", expiresAt=number(now - FIVE_YEARS - 86400))
    stack.put("no-ttl")
    # WHEN the sweeper runs, a user deletes the item without TTL, and the poller runs
    deleted = stack.sweeper.sweep_once()
    stack.dynamodb.delete_item(TableName=stack.table, Key={"pk": {"S": "no-ttl"}})
    stack.poller.poll_once()
    # THEN only the expired item is gone
    assert deleted == 1
    assert not stack.exists("expired")
    assert stack.exists("fresh") and stack.exists("string-ttl") and stack.exists("ancient")
    # AND its REMOVE record reaches the consumer marked as a TTL deletion, with its old image
    removes = stack.removes()
    assert set(removes) == {"expired", "no-ttl"}
    ttl_remove = removes["expired"]
    assert ttl_remove["userIdentity"] == TTL_USER_IDENTITY == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert ttl_remove["dynamodb"]["OldImage"]["expiresAt"] == number(now - 60)
    # binary attributes arrive base64-encoded
    assert ttl_remove["dynamodb"]["OldImage"]["blob"] == {"B": "AP9zZXNzaW9u"}
    # AND the user's delete is not marked
    assert "userIdentity" not in removes["no-ttl"]
    # AND a second sweep finds nothing more to do
    assert stack.sweeper.sweep_once() == 0


def test_an_item_renewed_after_the_scan_is_not_deleted(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    # GIVEN an expired item that the sweeper's scan finds ...
    stack.put("renewed", expiresAt=number(now - 60))
    real_due_keys = stack.sweeper._due_keys

    def due_keys_then_renew(table: Any, at: float) -> Any:
        keys = list(real_due_keys(table, at))
        # ... but that is renewed before the sweeper deletes it
        stack.put("renewed", expiresAt=number(now + 3600))
        return iter(keys)

    monkeypatch.setattr(stack.sweeper, "_due_keys", due_keys_then_renew)
    # WHEN the sweeper runs
    deleted = stack.sweeper.sweep_once()
    # THEN the conditional delete leaves it alone
    assert deleted == 0
    assert stack.exists("renewed")
    stack.poller.poll_once()
    assert stack.removes() == {}


def test_background_sweeper_and_poller_deliver_ttl_deletions(stack: Stack) -> None:
    # GIVEN a running sweeper and poller
    stack.put("background", expiresAt=number(time.time() - 1))
    stack.sweeper.start()
    stack.poller.interval = 0.05
    stack.poller.start()
    try:
        # WHEN an item is due THEN its marked REMOVE reaches the consumer without any manual poll
        deadline = time.monotonic() + 5
        while "background" not in stack.removes() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stack.sweeper.stop()
        stack.poller.stop()
    assert stack.removes()["background"]["userIdentity"] == TTL_USER_IDENTITY
    assert not stack.exists("background")


def test_the_sweeper_finds_due_items_in_its_index_of_expiry_times_without_scanning(stack: Stack) -> None:
    scans: list[str] = []

    def count(**_: Any) -> None:
        scans.append("Scan")

    stack.sweeper._client.meta.events.register("before-call.dynamodb.Scan", count)
    try:
        now = time.time()
        # GIVEN items written after the sweeper started (moto in this process keeps the index):
        # one due, one renewed from due to later, one given a TTL by an UpdateItem that is due later
        stack.put("indexed-due", expiresAt=number(now - 5))
        stack.put("indexed-renewed", expiresAt=number(now - 5))
        stack.put("indexed-renewed", expiresAt=number(now + 3600))
        stack.put("indexed-later")
        stack.dynamodb.update_item(TableName=stack.table, Key={"pk": {"S": "indexed-later"}},
                                   UpdateExpression="SET expiresAt = :ttl", ExpressionAttributeValues={":ttl": number(now + 30)})
        # WHEN the sweeper runs now, and again once the later one is due
        deleted_now = stack.sweeper.sweep_once(now)
        exists_after_first = {pk: stack.exists(pk) for pk in ("indexed-due", "indexed-renewed", "indexed-later")}
        deleted_later = stack.sweeper.sweep_once(now + 31)
        # THEN each pass deletes exactly what is due then, the renewed item stays, and no pass Scanned
        assert deleted_now == 1 and deleted_later == 1
        assert exists_after_first == {"indexed-due": False, "indexed-renewed": True, "indexed-later": True}
        assert not stack.exists("indexed-later") and stack.exists("indexed-renewed")
        assert scans == []
    finally:
        stack.sweeper._client.meta.events.unregister("before-call.dynamodb.Scan", count)
        stack.poller.poll_once()
