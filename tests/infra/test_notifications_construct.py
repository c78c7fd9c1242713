"""infra/notifications.py OrderNotifications, synthesized in a small stack with the project's
FunctionFactory (the dependencies the sender does not use are left out)."""

from __future__ import annotations

import tempfile
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_

from infra.aspects import AsyncConsumersHaveFailureDestination
from infra.config import stage_config
from infra.data import create_table
from infra.functions import FunctionFactory
from infra.nag import add_suppressions
from infra.notifications import OrderNotifications
from infra.topology import Table

NOTIFICATIONS_TABLE = Table(id="NotificationsTable", env_var="NOTIFICATIONS_TABLE_NAME", ttl_attribute="expires_at")


def _build(stack: cdk.Stack, stage: str = "dev") -> OrderNotifications:
    config = stage_config(stage)
    table = create_table(stack, NOTIFICATIONS_TABLE, config)
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Layer", f"arn:aws:lambda:{stack.region}:{stack.account}:layer:shared:1")
    pool = cognito.UserPool.from_user_pool_id(stack, "Pool", "us-east-1_TestPool")
    factory = FunctionFactory(
        stack, config, layer, {NOTIFICATIONS_TABLE.id: table}, {"STAGE": stage}, pool,
        search=None, images=None, network=None, cache=None,  # type: ignore[arg-type]
    )
    notifications = OrderNotifications(
        stack, "Notifications", factory=factory, notifications_table=NOTIFICATIONS_TABLE, config=config,
        from_address="orders@shop.example.com",
    )
    publisher = lambda_.Function(
        stack, "Publisher", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    notifications.grant_publish(publisher)
    return notifications


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, OrderNotifications, dict[str, Any]]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-notifications-"))
    stack = cdk.Stack(app, "NotificationsTest", env=cdk.Environment(account="123456789012", region="us-east-1"))
    notifications = _build(stack)
    return stack, notifications, assertions.Template.from_stack(stack).to_json()


def _logical_id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def _of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == cfn_type}


def test_the_rule_sends_the_notified_order_events_of_the_bus_to_the_queue_with_retries_and_a_dlq(built) -> None:
    # GIVEN the synthesized construct
    stack, notifications, template = built
    # WHEN its EventBridge rule is read
    [rule] = _of_type(template, "AWS::Events::Rule").values()
    props = rule["Properties"]
    # THEN it listens on the OrderEvents bus to shop.orders' four notified detail types
    assert props["EventBusName"] == {"Ref": _logical_id(stack, notifications.bus)}
    assert props["EventPattern"] == {
        "source": ["shop.orders"],
        "detail-type": ["order.confirmed", "order.cancelled", "order.failed", "order.shipped"],
    }
    # AND its only target is the notification queue, retried, then parked on the target's own DLQ
    [target] = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_logical_id(stack, notifications.queue), "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [_logical_id(stack, notifications.target_dead_letter_queue), "Arn"]}


def test_the_queue_is_encrypted_ssl_only_and_parks_a_message_after_five_receives(built) -> None:
    # GIVEN the synthesized construct
    stack, notifications, template = built
    # WHEN the notification queue and its policy are read
    queue = template["Resources"][_logical_id(stack, notifications.queue)]["Properties"]
    # THEN SQS encrypts it, it redrives to the dead-letter queue after 5 receives, and its
    # visibility timeout is 6x the function's timeout
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [_logical_id(stack, notifications.dead_letter_queue), "Arn"]},
        "maxReceiveCount": 5,
    }
    function = template["Resources"][_logical_id(stack, notifications.function)]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * function["Timeout"]
    # AND its policy denies non-TLS access
    statements = [
        s for p in _of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": _logical_id(stack, notifications.queue)} in p["Properties"]["Queues"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    # AND EventBridge may send to it (only from this rule)
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "events.amazonaws.com"} for s in statements)


def test_the_sender_consumes_the_queue_reporting_batch_item_failures(built) -> None:
    # GIVEN the synthesized construct
    stack, notifications, template = built
    # WHEN the event source mapping is read
    [mapping] = _of_type(template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    # THEN the sender reads the queue ten messages at a time and reports failures per message
    assert props["EventSourceArn"] == {"Fn::GetAtt": [_logical_id(stack, notifications.queue), "Arn"]}
    assert props["FunctionName"] == {"Ref": _logical_id(stack, notifications.function)}
    assert props["BatchSize"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_sender_runs_the_handler_with_its_settings(built) -> None:
    # GIVEN the synthesized construct
    stack, notifications, template = built
    # WHEN the sender function is read
    function = template["Resources"][_logical_id(stack, notifications.function)]["Properties"]
    # THEN it runs the SQS handler, sends with SES from the given address, and knows its table
    assert function["Handler"] == "functions.notifications.consumers.send_notifications.handler"
    variables = function["Environment"]["Variables"]
    assert variables["NOTIFICATION_SENDER"] == "ses"
    assert variables["NOTIFICATION_FROM_ADDRESS"] == "orders@shop.example.com"
    assert variables["NOTIFICATIONS_TABLE_NAME"] == {"Ref": stack.get_logical_id(stack.node.find_child("NotificationsTable").node.default_child)}


def _statements_of(template: dict[str, Any], stack: cdk.Stack, function: lambda_.Function) -> list[dict[str, Any]]:
    role = template["Resources"][_logical_id(stack, function)]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in _of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_the_sender_may_send_only_as_the_from_address_domain_and_read_users(built) -> None:
    # GIVEN the synthesized construct
    stack, notifications, template = built
    # WHEN the sender's role policy is read
    statements = _statements_of(template, stack, notifications.function)
    # THEN ses:SendEmail is granted on the domain identity of the from-address, and nothing wider
    [ses] = [s for s in statements if any(a.startswith("ses:") for a in _actions(s))]
    assert _actions(ses) == ["ses:SendEmail"]
    assert ses["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ses:us-east-1:123456789012:identity/shop.example.com"]]
    }
    # AND Cognito's AdminGetUser on the pool (the user id is the username), no ListUsers
    cognito_actions = {a for s in statements for a in _actions(s) if a.startswith("cognito-idp:")}
    assert cognito_actions == {"cognito-idp:AdminGetUser"}
    # AND the notifications table is readable and writable (the dedupe claims and the outbox)
    table_actions = {a for s in statements for a in _actions(s) if a.startswith("dynamodb:")}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Scan"} <= table_actions


def test_grant_publish_lets_the_publisher_put_events_on_the_bus_and_names_it(built) -> None:
    # GIVEN the synthesized construct and the publisher it was granted to
    stack, notifications, template = built
    publisher = stack.node.find_child("Publisher")
    # WHEN the publisher's environment and role policy are read
    variables = template["Resources"][_logical_id(stack, publisher)]["Properties"]["Environment"]["Variables"]
    statements = _statements_of(template, stack, publisher)
    # THEN it knows the bus's name and may put events on that bus only
    assert variables["EVENT_BUS_NAME"] == {"Ref": _logical_id(stack, notifications.bus)}
    [put] = [s for s in statements if "events:PutEvents" in _actions(s)]
    assert put["Resource"] == {"Fn::GetAtt": [_logical_id(stack, notifications.bus), "Arn"]}


def test_the_dead_letter_queues_keep_messages_14_days_and_follow_the_stage_removal_policy() -> None:
    # GIVEN the construct in a prod stack (which retains its data)
    template = _template("prod")
    # WHEN its three queues are read
    queues = _of_type(template, "AWS::SQS::Queue")
    # THEN the two dead-letter queues keep messages 14 days and are retained with the stack
    parked = [q for lid, q in queues.items() if "DeadLetterQueue" in lid]
    assert len(parked) == 2 and len(queues) == 3
    assert all(q["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600 for q in parked)
    assert all(q["DeletionPolicy"] == "Retain" for q in parked)


def _template(stage: str) -> dict[str, Any]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-notifications-"))
    stack = cdk.Stack(app, "NotificationsStage", env=cdk.Environment(account="123456789012", region="us-east-1"))
    _build(stack, stage)
    return assertions.Template.from_stack(stack).to_json()


def test_the_construct_satisfies_the_async_consumer_aspect_and_cdk_nag() -> None:
    # GIVEN the construct in a stack checked like the real app: the project's aspect and
    # cdk-nag's AwsSolutions rules with the project's acknowledgements
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-notifications-nag-"))
    stack = cdk.Stack(app, "NotificationsNag", env=cdk.Environment(account="123456789012", region="us-east-1"))
    _build(stack)
    cdk.Aspects.of(app).add(AsyncConsumersHaveFailureDestination())
    add_suppressions(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    # WHEN it is synthesized
    annotations = assertions.Annotations.from_stack(stack)
    errors = [(m.id, m.entry.data) for m in annotations.find_error("*", assertions.Match.any_value())]
    app.synth()  # cdk-nag raises on any unacknowledged finding

    # THEN the aspect found no async consumer without a dead-letter queue
    assert errors == []
