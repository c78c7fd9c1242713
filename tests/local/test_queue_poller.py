"""SQS event source mappings from a CDK stack, run by local.queues.QueuePoller on moto.

One small stack (synthesized once for the module) holds a queue + dead-letter queue + consumer
function + SqsEventSource per scenario, so every test reads its own queue. Consumers are in
tests/fixtures/queue_consumers.py; a message's body is {"id": ...} and FAILURES[id] scripts how
often its processing fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.queues import QueueMapping, QueuePoller, is_queue_arn
from local.resources import deploy_queues, deploy_tables
from local.streams import StreamPoller
from tests.fixtures import queue_consumers as consumers
from tests.support.cdk import synth_template

RECORD_KEYS = {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource",
               "eventSourceARN", "awsRegion"}

# scenario -> (handler, SqsEventSource options, maxReceiveCount of the queue's dead-letter queue)
SCENARIOS: dict[str, tuple[str, dict[str, Any], int]] = {
    "Shape": ("recording_consumer", {"batch_size": 10, "report_batch_item_failures": True}, 3),
    "Partial": ("partial_batch_consumer", {"batch_size": 10, "report_batch_item_failures": True}, 3),
    "Poison": ("partial_batch_consumer", {"batch_size": 10, "report_batch_item_failures": True}, 2),
    "Raising": ("raising_consumer", {"batch_size": 10}, 3),
    "Invalid": ("invalid_report_consumer", {"batch_size": 10, "report_batch_item_failures": True}, 3),
    "Big": ("recording_consumer", {"batch_size": 25, "max_batching_window": 1}, 3),  # > 10 needs a window
    "Windowed": ("recording_consumer", {"batch_size": 10, "max_batching_window": 2}, 3),
    "Filtered": ("recording_consumer", {"batch_size": 10, "filtered": True}, 3),
}


def _build(stack: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_sqs as sqs

    def function(construct_id: str, handler: str) -> lambda_.Function:
        return lambda_.Function(stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, code=lambda_.Code.from_inline("#"),
                                handler=f"tests.fixtures.queue_consumers.{handler}")

    for name, (handler, options, max_receive_count) in SCENARIOS.items():
        options = dict(options)
        dlq = sqs.Queue(stack, f"{name}DeadLetters")
        queue = sqs.Queue(stack, f"{name}Queue", visibility_timeout=cdk.Duration.seconds(30),
                          dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count))
        filters = None
        if options.pop("filtered", False):
            filters = [lambda_.FilterCriteria.filter({"body": {"kind": lambda_.FilterRule.is_equal("order")}})]
        window = options.pop("max_batching_window", None)
        function(f"{name}Consumer", handler).add_event_source(
            sources.SqsEventSource(queue, filters=filters,
                                   max_batching_window=cdk.Duration.seconds(window) if window else None, **options)
        )
    # A DynamoDB stream mapping next to the SQS ones: each poller must take only its own.
    table = dynamodb.Table(stack, "StreamTable", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                           stream=dynamodb.StreamViewType.NEW_IMAGE)
    function("StreamConsumer", "recording_consumer").add_event_source(
        sources.DynamoEventSource(table, starting_position=lambda_.StartingPosition.TRIM_HORIZON)
    )


def _lid(deployment: Deployment, resource_type: str, prefix: str) -> str:
    (logical_id,) = [lid for lid in deployment.resources_of_type(resource_type) if lid.startswith(prefix)]
    return logical_id


class Stack:
    def __init__(self, deployment: Deployment, endpoint: str) -> None:
        self.deployment = deployment
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        self.runtime = LambdaRuntime(deployment.functions())
        self.endpoint = endpoint

    def queue_url(self, scenario: str, dead_letters: bool = False) -> str:
        suffix = "DeadLetters" if dead_letters else "Queue"
        return self.deployment.physical_id(_lid(self.deployment, "AWS::SQS::Queue", f"{scenario}{suffix}"))

    def queue_arn(self, scenario: str) -> str:
        return self.deployment.attribute(_lid(self.deployment, "AWS::SQS::Queue", f"{scenario}Queue"), "Arn")

    def function(self, scenario: str) -> str:
        return _lid(self.deployment, "AWS::Lambda::Function", f"{scenario}Consumer")

    def mapping(self, scenario: str) -> str:
        return _lid(self.deployment, "AWS::Lambda::EventSourceMapping", f"{scenario}Consumer")

    def send(self, scenario: str, *ids: str, **extra: Any) -> dict[str, str]:
        """Send {"id": id, **extra} per id; returns id -> SQS message id."""
        sent = {}
        for message_id in ids:
            response = self.sqs.send_message(QueueUrl=self.queue_url(scenario), MessageBody=json.dumps({"id": message_id, **extra}))
            sent[message_id] = response["MessageId"]
        return sent

    def take(self, url: str) -> list[dict[str, Any]]:
        """Every visible message of a queue (received and deleted)."""
        taken = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]).get(
                "Messages", [])
            if not messages:
                return taken
            for message in messages:
                taken.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def counts(self, scenario: str, dead_letters: bool = False) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(scenario, dead_letters),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="module")
def stack(moto_server: Any) -> Stack:
    """GIVEN the stack's queues (and table) deployed onto the moto server."""
    deployment = Deployment(synth_template(_build, stack_name="QueuePollerTestStack"))
    deploy_tables(deployment, boto3.client("dynamodb", endpoint_url=moto_server.endpoint))
    deploy_queues(deployment, boto3.client("sqs", endpoint_url=moto_server.endpoint))
    return Stack(deployment, moto_server.endpoint)


@pytest.fixture
def poller(stack: Stack) -> Any:
    poller = QueuePoller(stack.deployment, stack.runtime, sqs_client=stack.sqs)
    yield poller
    poller.stop()


@pytest.fixture(autouse=True)
def clean(stack: Stack) -> Any:
    consumers.reset()
    for scenario in SCENARIOS:
        for dead_letters in (False, True):
            stack.take(stack.queue_url(scenario, dead_letters))
    yield
    consumers.reset()


def _last(poller: QueuePoller, scenario_mapping: str) -> Any:
    return [i for i in poller.history if i.mapping == scenario_mapping][-1]


# -- which mappings ------------------------------------------------------------------------------


def test_each_poller_takes_only_its_own_mappings(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a template with SQS mappings and one DynamoDB stream mapping
    # THEN the queue poller runs every SQS mapping, read from the template ...
    assert set(poller.mappings) == {stack.mapping(s) for s in SCENARIOS}
    partial = poller.mappings[stack.mapping("Partial")]
    assert partial == QueueMapping(logical_id=stack.mapping("Partial"), function_name=stack.function("Partial"),
                                   queue_arn=stack.queue_arn("Partial"), batch_size=10, report_batch_item_failures=True)
    assert poller.mappings[stack.mapping("Raising")].report_batch_item_failures is False
    assert poller.mappings[stack.mapping("Big")].batch_size == 25
    assert poller.mappings[stack.mapping("Windowed")].maximum_batching_window == 2
    assert poller.mappings[stack.mapping("Filtered")].filter_patterns == ({"body": {"kind": ["order"]}},)
    # ... and the stream poller only the stream mapping
    streams = StreamPoller(stack.deployment, stack.runtime, streams_client=boto3.client("dynamodbstreams", endpoint_url=stack.endpoint))
    assert list(streams.mappings) == [stack.mapping("Stream")]
    assert is_queue_arn(stack.queue_arn("Shape"))
    assert not is_queue_arn(streams.mappings[stack.mapping("Stream")].stream_arn)


# -- the event ---------------------------------------------------------------------------------


def test_the_function_gets_lambdas_sqs_event_and_the_message_is_deleted(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a message with string, number and binary attributes, and one without attributes
    body = json.dumps({"id": "shape-1", "total": 1500})
    sent = stack.sqs.send_message(
        QueueUrl=stack.queue_url("Shape"),
        MessageBody=body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "attempt": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01bin"},
        },
    )
    plain = stack.send("Shape", "shape-2")["shape-2"]
    before = int(time.time() * 1000)

    # WHEN the poller runs
    delivered = poller.poll_once()

    # THEN one invocation got both, as Lambda shapes SQS records
    assert delivered == 2
    (batch,) = consumers.INVOCATIONS[stack.function("Shape")]
    by_id = {record["messageId"]: record for record in batch}
    assert set(by_id) == {sent["MessageId"], plain}
    record = by_id[sent["MessageId"]]
    assert set(record) == RECORD_KEYS | {"md5OfMessageAttributes"}
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest() == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", stack.queue_arn("Shape"), "us-east-1")
    assert record["receiptHandle"]
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(attributes)
    assert before - 5000 <= int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "attempt": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {"binaryValue": base64.b64encode(b"\x00\x01bin").decode(), "stringListValues": [], "binaryListValues": [],
                 "dataType": "Binary"},
    }
    # AND a message without attributes has no attribute checksum, as in Lambda
    assert set(by_id[plain]) == RECORD_KEYS and by_id[plain]["messageAttributes"] == {}
    # AND powertools' data class reads the event
    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    parsed = {r.message_id: r for r in SQSEvent({"Records": batch}).records}
    assert parsed[sent["MessageId"]].message_attributes["kind"].string_value == "order"
    assert parsed[sent["MessageId"]].json_body == {"id": "shape-1", "total": 1500}
    # AND the successful messages were deleted: nothing visible, nothing in flight
    assert stack.counts("Shape") == (0, 0)
    assert sorted(_last(poller, stack.mapping("Shape")).deleted) == sorted([sent["MessageId"], plain])


def test_a_batch_size_above_ten_is_filled_by_several_receives(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN 25 messages on a queue whose mapping takes batches of 25 (with a batching window)
    ids = [f"big-{i:02d}" for i in range(25)]
    stack.send("Big", *ids)

    # WHEN the poller runs  THEN one invocation gets all of them (SQS returns at most 10 a call)
    assert poller.poll_once() == 25
    (batch,) = consumers.batches(stack.function("Big"))
    assert sorted(batch) == ids
    assert stack.counts("Big") == (0, 0)


# -- failures ----------------------------------------------------------------------------------


def test_partial_batch_failure_keeps_only_the_failed_messages(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN five messages, two of which fail once (powertools BatchProcessor reports them)
    ids = ["p-a", "p-b", "p-c", "p-d", "p-e"]
    sent = stack.send("Partial", *ids)
    consumers.FAILURES.update({"p-c": 1, "p-e": 1})

    # WHEN the poller runs
    assert poller.poll_once() == 5

    # THEN the three successes are deleted and only the two failures stay (in flight)
    invocation = _last(poller, stack.mapping("Partial"))
    assert sorted(invocation.deleted) == sorted(sent[i] for i in ("p-a", "p-b", "p-d"))
    assert sorted(invocation.failed) == sorted(sent[i] for i in ("p-c", "p-e"))
    assert stack.counts("Partial") == (0, 2)
    # AND they are not retried at once, but after the local retry delay (1 s, not 30 s)
    assert poller.poll_once() == 0
    started = time.monotonic()
    poller.drain(timeout=5)
    assert time.monotonic() - started < 3
    batches = consumers.batches(stack.function("Partial"))
    assert [sorted(b) for b in batches] == [ids, ["p-c", "p-e"]]
    # AND the retry says it is the second receive
    retried = consumers.INVOCATIONS[stack.function("Partial")][1]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in retried} == {"2"}
    assert {r["messageId"] for r in retried} == {sent["p-c"], sent["p-e"]}
    # AND every message was processed successfully exactly once; nothing left, nothing dead-lettered
    assert stack.counts("Partial") == (0, 0)
    assert stack.counts("Partial", dead_letters=True) == (0, 0)


def test_a_message_that_keeps_failing_moves_to_the_dlq_after_max_receive_count(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a queue with maxReceiveCount 2 and a message that always fails between two good ones
    sent = stack.send("Poison", "ok-1", "poison", "ok-2")
    consumers.FAILURES["poison"] = -1

    # WHEN the poller runs until the queue is empty
    poller.drain(timeout=10)

    # THEN the poison message was tried maxReceiveCount (2) times, the others once
    assert Counter(consumers.delivered(stack.function("Poison"))) == {"ok-1": 1, "ok-2": 1, "poison": 2}
    # AND it is in the dead-letter queue, untouched: nothing was lost
    (dead,) = stack.take(stack.queue_url("Poison", dead_letters=True))
    assert dead["MessageId"] == sent["poison"]
    assert json.loads(dead["Body"]) == {"id": "poison"}
    assert stack.counts("Poison") == (0, 0)


def test_an_exception_fails_the_whole_batch(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a consumer without partial responses and a batch whose second message fails once
    sent = stack.send("Raising", "r-1", "r-2")
    consumers.FAILURES["r-2"] = 1

    # WHEN the poller runs once
    poller.poll_once()

    # THEN nothing was deleted: both messages stay for a retry
    invocation = _last(poller, stack.mapping("Raising"))
    assert invocation.error == "PoisonMessage: r-2"
    assert invocation.deleted == [] and sorted(invocation.failed) == sorted(sent.values())
    assert stack.counts("Raising") == (0, 2)
    # AND the retry delivers both again (at least once), then the queue is empty
    poller.drain(timeout=5)
    # (seen once on a loaded CI-like run: only the first batch recorded, the queue empty. The
    # message says whether the retry ran on a second instance, whose module copy has its own
    # INVOCATIONS, or not at all.)
    invocations = [i for i in poller.history if i.mapping == stack.mapping("Raising")]
    instances = stack.runtime.instance_count(stack.function("Raising"))
    assert [sorted(b) for b in consumers.batches(stack.function("Raising"))] == [["r-1", "r-2"], ["r-1", "r-2"]], (
        f"instances: {instances}, invocations: {invocations}")
    assert stack.counts("Raising") == (0, 0)


def test_an_invalid_failure_report_fails_the_whole_batch(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a consumer that reports a failure with an identifier that names no message of the batch
    stack.send("Invalid", "i-1", "i-2")
    consumers.FAILURES["i-2"] = 1

    # WHEN the poller runs once  THEN both messages stay, as Lambda treats the response as a failure
    poller.poll_once()
    assert len(_last(poller, stack.mapping("Invalid")).failed) == 2
    assert stack.counts("Invalid") == (0, 2)
    poller.drain(timeout=5)
    assert [sorted(b) for b in consumers.batches(stack.function("Invalid"))] == [["i-1", "i-2"], ["i-1", "i-2"]]


# -- filters, batching window, background --------------------------------------------------------


def test_filtered_out_messages_are_deleted_without_an_invocation(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN a mapping that only wants bodies with kind "order"
    stack.send("Filtered", "f-order", kind="order")
    stack.send("Filtered", "f-audit", kind="audit")
    stack.sqs.send_message(QueueUrl=stack.queue_url("Filtered"), MessageBody="not json")

    # WHEN the poller runs
    poller.poll_once()

    # THEN only the matching message reached the function, and the queue is empty
    assert consumers.batches(stack.function("Filtered")) == [["f-order"]]
    assert stack.counts("Filtered") == (0, 0)


def test_a_partial_batch_waits_for_the_batching_window_unless_flushed(stack: Stack, poller: QueuePoller) -> None:
    # GIVEN three messages on a queue whose mapping waits up to 2 s to fill a batch of 10
    stack.send("Windowed", "w-1", "w-2", "w-3")

    # WHEN the background tick runs before the window has passed  THEN nothing is delivered yet
    assert poller.poll_once(flush=False) == 0
    assert consumers.batches(stack.function("Windowed")) == []
    # WHEN a flush follows  THEN the held messages go in one batch
    assert poller.poll_once() == 3
    assert [sorted(b) for b in consumers.batches(stack.function("Windowed"))] == [["w-1", "w-2", "w-3"]]
    assert stack.counts("Windowed") == (0, 0)


def test_the_background_thread_delivers_on_its_own(stack: Stack) -> None:
    # GIVEN a started poller
    poller = QueuePoller(stack.deployment, stack.runtime, interval=0.05, sqs_client=stack.sqs)
    poller.start()
    try:
        # WHEN a message arrives
        stack.send("Shape", "bg-1")
        deadline = time.monotonic() + 5
        while not consumers.batches(stack.function("Shape")) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        poller.stop()
    # THEN the consumer got it without anyone calling poll_once, and it was deleted
    assert consumers.batches(stack.function("Shape")) == [["bg-1"]]
    assert stack.counts("Shape") == (0, 0)
