"""A custom EventBridge bus and event-pattern rules from a CDK stack, deployed on moto by
local.events: PutEvents on the bus lands in the rule's SQS target only when the pattern matches,
in EventBridge's event shape, and from there reaches a consumer through local.queues.QueuePoller."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.events import EVENT_FIELDS, bus_name, deploy_event_buses_and_rules
from local.lambda_runtime import LambdaRuntime
from local.queues import QueuePoller
from local.resources import deploy_queues
from local.scheduler import Scheduler
from tests.fixtures import queue_consumers as consumers
from tests.support.cdk import synth_template

PATTERN = {"source": ["shop.orders"], "detail-type": ["order.confirmed", "order.cancelled"]}


def _build(stack: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_sqs as sqs

    def function(construct_id: str, handler: str, **kwargs: Any) -> lambda_.Function:
        return lambda_.Function(stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, code=lambda_.Code.from_inline("#"),
                                handler=f"tests.fixtures.queue_consumers.{handler}", **kwargs)

    bus = events.EventBus(stack, "OrderEvents")
    dlq = sqs.Queue(stack, "NotifyDeadLetters")
    queue = sqs.Queue(stack, "Notifications", dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=2))
    events.Rule(
        stack,
        "OrderNotifications",
        event_bus=bus,
        event_pattern=events.EventPattern(source=PATTERN["source"], detail_type=PATTERN["detail-type"]),
        targets=[targets.SqsQueue(queue, dead_letter_queue=dlq, retry_attempts=2)],
    )
    # A scheduled rule (the local Scheduler's job, never moto's) and a pattern rule with a Lambda
    # target (moto cannot deliver to Lambda: it must not turn PutEvents into an error).
    events.Rule(stack, "NightlyDigest", schedule=events.Schedule.rate(cdk.Duration.days(1)), targets=[targets.SqsQueue(queue)])
    consumer = function("NotificationConsumer", "recording_consumer")
    consumer.add_event_source(sources.SqsEventSource(queue, batch_size=10, report_batch_item_failures=True))
    events.Rule(stack, "AuditTrail", event_bus=bus, event_pattern=events.EventPattern(source=["shop.orders"]),
                targets=[targets.LambdaFunction(consumer)])
    function("OrderPublisher", "publish_order_event",
             environment={"ORDER_EVENTS_BUS": bus.event_bus_name, "ORDER_EVENTS_BUS_ARN": bus.event_bus_arn})


def _lid(deployment: Deployment, resource_type: str, prefix: str) -> str:
    (logical_id,) = [lid for lid in deployment.resources_of_type(resource_type) if lid.startswith(prefix)]
    return logical_id


class Stack:
    def __init__(self, deployment: Deployment, endpoint: str) -> None:
        self.deployment = deployment
        self.events = boto3.client("events", endpoint_url=endpoint)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        self.runtime = LambdaRuntime(deployment.functions())
        self.bus = deployment.physical_id(_lid(deployment, "AWS::Events::EventBus", "OrderEvents"))
        self.bus_arn = deployment.attribute(_lid(deployment, "AWS::Events::EventBus", "OrderEvents"), "Arn")
        self.queue_url = deployment.physical_id(_lid(deployment, "AWS::SQS::Queue", "Notifications"))
        self.dlq_url = deployment.physical_id(_lid(deployment, "AWS::SQS::Queue", "NotifyDeadLetters"))

    def function(self, prefix: str) -> str:
        return _lid(self.deployment, "AWS::Lambda::Function", prefix)

    def put(self, detail_type: str, detail: dict[str, Any], bus: str | None = None, source: str = "shop.orders") -> str:
        entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
        if bus is not None:
            entry["EventBusName"] = bus
        response = self.events.put_events(Entries=[entry])
        assert response["FailedEntryCount"] == 0, response
        return response["Entries"][0]["EventId"]

    def take(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in the queue (received and deleted)."""
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def stack(moto_server: Any) -> Stack:
    """GIVEN the stack's queues, bus and rules deployed onto the moto server."""
    deployment = Deployment(synth_template(_build, stack_name="EventBusTestStack"))
    deploy_queues(deployment, boto3.client("sqs", endpoint_url=moto_server.endpoint))
    deploy_event_buses_and_rules(deployment, boto3.client("events", endpoint_url=moto_server.endpoint))
    return Stack(deployment, moto_server.endpoint)


@pytest.fixture(autouse=True)
def empty_queues(stack: Stack) -> Any:
    consumers.reset()
    for url in (stack.queue_url, stack.dlq_url):
        stack.take(url)  # (moto allows one PurgeQueue a minute, as SQS does)
    yield
    consumers.reset()


def test_bus_and_rule_are_created_as_cloudformation_would(stack: Stack) -> None:
    deployment = stack.deployment
    bus_id = _lid(deployment, "AWS::Events::EventBus", "OrderEvents")
    rule_id = _lid(deployment, "AWS::Events::Rule", "OrderNotifications")

    # THEN the bus exists under its template name: Ref = the name, GetAtt Arn / Name
    name = deployment.properties(bus_id)["Name"]
    assert stack.bus == name == deployment.attribute(bus_id, "Name")
    assert stack.bus_arn == f"arn:aws:events:us-east-1:123456789012:event-bus/{name}"
    assert stack.events.describe_event_bus(Name=name)["Arn"] == stack.bus_arn
    # AND the rule is on that bus with the pattern and the queue target (with its DLQ and retries)
    rule = stack.events.describe_rule(Name=rule_id, EventBusName=name)
    assert json.loads(rule["EventPattern"]) == PATTERN
    assert rule["State"] == "ENABLED"
    assert deployment.attribute(rule_id, "Arn") == rule["Arn"] == f"arn:aws:events:us-east-1:123456789012:rule/{name}/{rule_id}"
    assert deployment.physical_id(rule_id) == f"{name}|{rule_id}"  # Ref of a rule on a custom bus
    (target,) = stack.events.list_targets_by_rule(Rule=rule_id, EventBusName=name)["Targets"]
    queue_arn = deployment.attribute(_lid(deployment, "AWS::SQS::Queue", "Notifications"), "Arn")
    dlq_arn = deployment.attribute(_lid(deployment, "AWS::SQS::Queue", "NotifyDeadLetters"), "Arn")
    assert target["Arn"] == queue_arn
    assert target["DeadLetterConfig"] == {"Arn": dlq_arn}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    # AND a function's environment resolves to the bus's name and ARN
    publisher = deployment.functions()[stack.function("OrderPublisher")]
    assert publisher.environment == {"ORDER_EVENTS_BUS": name, "ORDER_EVENTS_BUS_ARN": stack.bus_arn}


def test_scheduled_rules_stay_with_the_scheduler_and_lambda_targets_are_left_out(stack: Stack) -> None:
    deployment = stack.deployment
    nightly = _lid(deployment, "AWS::Events::Rule", "NightlyDigest")
    audit = _lid(deployment, "AWS::Events::Rule", "AuditTrail")

    # THEN the scheduled rule is not in moto (nothing but the Scheduler may run it) ...
    assert nightly not in [r["Name"] for r in stack.events.list_rules()["Rules"]]
    assert Scheduler(deployment, stack.runtime).rules == {}  # its target is a queue: not a Lambda job
    # ... and the Lambda-target rule exists without targets (moto would fail PutEvents on them)
    assert stack.events.describe_rule(Name=audit, EventBusName=stack.bus)["Name"] == audit
    assert stack.events.list_targets_by_rule(Rule=audit, EventBusName=stack.bus)["Targets"] == []


def test_put_events_reaches_the_queue_only_when_the_pattern_matches(stack: Stack) -> None:
    # GIVEN events on the bus (by name and by ARN) that match the pattern, and some that do not
    order = uuid.uuid4().hex[:8]
    confirmed = stack.put("order.confirmed", {"orderId": f"{order}-1", "total": 1500}, bus=stack.bus)
    cancelled = stack.put("order.cancelled", {"orderId": f"{order}-2"}, bus=stack.bus_arn)
    stack.put("order.shipped", {"orderId": f"{order}-3"}, bus=stack.bus)  # detail-type not in the pattern
    stack.put("order.confirmed", {"orderId": f"{order}-4"}, bus=stack.bus, source="shop.payments")  # other source
    stack.put("order.confirmed", {"orderId": f"{order}-5"})  # default bus: not this rule's bus

    # WHEN the target queue is read
    bodies = stack.take(stack.queue_url)

    # THEN exactly the two matching events are there
    assert sorted(b["id"] for b in bodies) == sorted([confirmed, cancelled])
    by_id = {b["id"]: b for b in bodies}
    # AND each is the whole EventBridge event, as a queue target receives it
    event = by_id[confirmed]
    assert tuple(event) == EVENT_FIELDS
    assert event["version"] == "0"
    assert (event["source"], event["detail-type"]) == ("shop.orders", "order.confirmed")
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert event["detail"] == {"orderId": f"{order}-1", "total": 1500}
    assert event["resources"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert by_id[cancelled]["detail"] == {"orderId": f"{order}-2"}
    # AND nothing went to the dead-letter queue
    assert stack.take(stack.dlq_url) == []


def test_odd_characters_survive_delivery(stack: Stack) -> None:
    # GIVEN a detail with quotes and angle brackets (moto's own template would mangle them)
    detail = {"note": 'say "hi" <detail-type> \\ ok', "nested": {"list": [1, None, True]}}

    # WHEN it is put on the bus  THEN the queue gets it unchanged
    stack.put("order.confirmed", detail, bus=stack.bus)
    (event,) = stack.take(stack.queue_url)
    assert event["detail"] == detail
    assert event["detail-type"] == "order.confirmed"


def test_a_handler_publishes_and_the_queue_consumer_gets_it(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the publisher function (its environment names the bus) and the queue's consumer
    for key, value in stack.deployment.functions()[stack.function("OrderPublisher")].environment.items():
        monkeypatch.setenv(key, value)
    poller = QueuePoller(stack.deployment, stack.runtime, sqs_client=stack.sqs)
    consumer = stack.function("NotificationConsumer")
    assert [m.function_name for m in poller.mappings.values()] == [consumer]

    # WHEN the handler puts an order.cancelled and an order.shipped event, and the poller runs
    cancelled = stack.runtime.invoke(stack.function("OrderPublisher"), {"type": "order.cancelled", "detail": {"orderId": "o-9"}})
    stack.runtime.invoke(stack.function("OrderPublisher"), {"type": "order.shipped", "detail": {"orderId": "o-9"}})
    poller.drain(timeout=5)

    # THEN the consumer got the matching event once, as an SQS record whose body is the event
    (batch,) = consumers.INVOCATIONS[consumer]
    (record,) = batch
    assert record["eventSource"] == "aws:sqs"
    body = json.loads(record["body"])
    assert [body["id"]] == cancelled["ids"] and cancelled["failed"] == 0
    assert body["detail-type"] == "order.cancelled" and body["detail"] == {"orderId": "o-9"}
    # AND the queue is empty: the message was deleted after the successful invocation
    assert stack.take(stack.queue_url) == []


@pytest.mark.parametrize("value,name", [
    (None, "default"), ("", "default"), ("orders", "orders"),
    ("arn:aws:events:us-east-1:123456789012:event-bus/orders", "orders"),
])
def test_event_bus_name_property_may_be_a_name_or_an_arn(value: str | None, name: str) -> None:
    assert bus_name(value) == name
