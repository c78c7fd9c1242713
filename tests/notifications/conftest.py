"""Fixtures for the notification tests: moto's in-process mock (`mock_aws`, no server) with the
bus, the rule -> queue, the notifications table and a user pool holding a buyer and two sellers.

moto keeps one set of backends per process, shared with any moto server running in it (the
session's local stack, tests/conftest.py). `mock_aws` as a plain context manager resets them on
entry and exit, which would wipe that stack's tables and users for every later test; so the
mock is started without reset and stopped without removing data, each test names its resources
uniquely, and deletes them afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from functions.identity import cognito
from functions.notifications import clients
from functions.notifications.order_events import DETAIL_TYPES, SOURCE
from shared.tables import connection

from .builders import sqs_event

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # boto3 >= 1.38 would otherwise build account-based DynamoDB hosts.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@pytest.fixture(scope="package", autouse=True)
def _pause_the_local_stack() -> Iterator[None]:
    """These tests take this process's SDK away from the local stack's moto server (to moto's
    in-process mock): a local stack started by another suite must not run meanwhile."""
    from tests.conftest import stacks_paused

    with stacks_paused():
        yield


def _forget_clients() -> None:
    """Clients and connections cached by the code under test were built for another endpoint."""
    clients.reset()
    cognito._client.cache_clear()
    connection.cache_clear()  # the stores' shared DynamoDB connection


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # set by a moto server started earlier
    from moto import mock_aws

    _forget_clients()
    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield
    finally:
        mock.stop(remove_data=False)
        _forget_clients()


@dataclass
class Shop:
    suffix: str  # makes this test's resource names and emails its own
    queue_url: str
    queue_arn: str
    pool_id: str
    users: dict[str, str] = field(default_factory=dict)  # name -> sub
    emails: dict[str, str] = field(default_factory=dict)  # name -> email

    def receive(self) -> list[dict[str, Any]]:
        """Every message now in the notification queue (deleted from it)."""
        sqs = boto3.client("sqs")
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            messages.extend(batch)
            sqs.delete_message_batch(
                QueueUrl=self.queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            )
        return messages

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return sqs_event(messages, self.queue_arn)


@pytest.fixture
def shop(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """The pieces infra/notifications.py builds in AWS, with the outbox as the sender."""
    suffix = uuid.uuid4().hex[:8]
    bus, rule, table = f"OrderEvents-{suffix}", f"NotifyOnOrderEvents-{suffix}", f"Notifications-{suffix}"
    events, sqs, idp, dynamodb = (boto3.client(name) for name in ("events", "sqs", "cognito-idp", "dynamodb"))
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=f"NotificationQueue-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [SOURCE], "detail-type": sorted(DETAIL_TYPES.values())}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # As infra/identity.py configures the pool: email is the username attribute, so a user's
    # username is its sub.
    pool_id = idp.create_user_pool(PoolName=f"shop-{suffix}", UsernameAttributes=["email"])["UserPool"]["Id"]
    shop = Shop(suffix, queue_url, queue_arn, pool_id)
    for name in ("buyer", "seller_a", "seller_b"):
        email = f"{name.replace('_', '.')}.{suffix}@example.com"
        created = idp.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                            {"Name": "name", "Value": name.title()}],
        )
        shop.users[name] = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        shop.emails[name] = email

    monkeypatch.setenv("EVENT_BUS_NAME", bus)
    monkeypatch.setenv("NOTIFICATIONS_TABLE_NAME", table)
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    monkeypatch.setenv("NOTIFICATION_SENDER", "outbox")
    yield shop

    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
    sqs.delete_queue(QueueUrl=queue_url)
    dynamodb.delete_table(TableName=table)
    idp.delete_user_pool(UserPoolId=pool_id)
