"""DynamoDB stream event source mappings from a CDK stack, run by local.streams.StreamPoller.

One small stack (synthesized once for the module) holds a table + consumer function + mapping
per scenario, so every test reads its own stream. Consumers are in tests/fixtures/stream_consumers.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.resources import deploy_queues, deploy_tables
from local.streams import StreamPoller, matches_filter_criteria, matches_pattern
from tests.fixtures import stream_consumers as consumers
from tests.support.cdk import synth_template

# scenario -> (handler, DynamoEventSource options)
SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    "Partial": ("partial_batch_consumer", {"batch_size": 10}),
    "Exhausted": ("partial_batch_consumer", {"batch_size": 3}),
    "Bisect": ("raising_consumer", {"batch_size": 4}),
    "Invalid": ("invalid_report_consumer", {"batch_size": 2, "bisect_batch_on_error": False}),
    "Unlimited": ("raising_consumer", {"batch_size": 10, "retry_attempts": None, "bisect_batch_on_error": False}),
    "Filtered": ("recording_consumer", {"batch_size": 10, "filtered": True}),
    "Windowed": ("recording_consumer", {"batch_size": 10, "window_seconds": 1}),
}


def _build(asset_dir: Path) -> Callable[[Any], None]:
    def build(stack: Any) -> None:
        from aws_cdk import Duration
        from aws_cdk import aws_dynamodb as dynamodb
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_lambda_event_sources as sources
        from aws_cdk import aws_sqs as sqs

        code = lambda_.Code.from_asset(str(asset_dir))
        for name, (handler, options) in SCENARIOS.items():
            options = dict(options)
            table = dynamodb.Table(
                stack,
                f"{name}Table",
                partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
                time_to_live_attribute="expiresAt",
            )
            queue = sqs.Queue(stack, f"{name}OnFailure")
            function = lambda_.Function(
                stack,
                f"{name}Consumer",
                runtime=lambda_.Runtime.PYTHON_3_12,
                code=code,
                handler=f"tests.fixtures.stream_consumers.{handler}",
            )
            filters = None
            window = options.pop("window_seconds", None)
            if options.pop("filtered", False):
                filters = [
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"NewImage": {"kind": {"S": lambda_.FilterRule.begins_with("order")}}},
                        }
                    ),
                    lambda_.FilterCriteria.filter(
                        {"dynamodb": {"NewImage": {"priority": {"S": lambda_.FilterRule.not_equals("low")}}}}
                    ),
                ]
            function.add_event_source(
                sources.DynamoEventSource(
                    table,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=options["batch_size"],
                    retry_attempts=options.get("retry_attempts", 2),
                    bisect_batch_on_error=options.get("bisect_batch_on_error", True),
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(queue),
                    filters=filters,
                    max_batching_window=Duration.seconds(window) if window else None,
                )
            )

    return build


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    (logical_id,) = [lid for lid, r in template["Resources"].items() if r["Type"] == resource_type and lid.startswith(prefix)]
    return logical_id


class Stack:
    """The deployed test stack plus a few helpers per scenario."""

    def __init__(self, deployment: Deployment, poller: StreamPoller) -> None:
        self.deployment = deployment
        self.poller = poller
        self.dynamodb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")

    def table(self, scenario: str) -> str:
        return self.deployment.physical_id(_logical_id(self.deployment.template, "AWS::DynamoDB::Table", f"{scenario}Table"))

    def function(self, scenario: str) -> str:
        return _logical_id(self.deployment.template, "AWS::Lambda::Function", f"{scenario}Consumer")

    def queue_url(self, scenario: str) -> str:
        return self.deployment.physical_id(_logical_id(self.deployment.template, "AWS::SQS::Queue", f"{scenario}OnFailure"))

    def put(self, scenario: str, pk: str, **attributes: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.table(scenario), Item={"pk": {"S": pk}, **attributes})

    def sequence_numbers(self, scenario: str) -> dict[str, str]:
        """pk -> sequence number of its INSERT, as the function saw it."""
        seen: dict[str, str] = {}
        for batch in consumers.INVOCATIONS[self.function(scenario)]:
            for record in batch:
                if record["eventName"] == "INSERT":
                    seen[consumers.pk_of(record)] = record["dynamodb"]["SequenceNumber"]
        return seen

    def failure_records(self, scenario: str) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url(scenario), MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url(scenario), ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture(scope="module")
def stack(moto_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    asset_dir = consumers.stage_handler_asset(tmp_path_factory.mktemp("stream-consumers-asset"))
    deployment = Deployment(synth_template(_build(asset_dir), stack_name="StreamsTestStack"))
    deploy_tables(deployment, boto3.client("dynamodb"))
    deploy_queues(deployment, boto3.client("sqs"))
    runtime = LambdaRuntime(deployment.functions())
    return Stack(deployment, StreamPoller(deployment, runtime))


@pytest.fixture(autouse=True)
def clean_consumers() -> Any:
    consumers.reset()
    yield
    consumers.reset()


def drain(poller: StreamPoller) -> None:
    """Poll until nothing more happens (a bounded loop: a bug must fail, not hang)."""
    for _ in range(20):
        if poller.poll_once() == 0:
            return
    raise AssertionError("the poller never settled")


# -- the event itself ------------------------------------------------------------------------


def test_records_arrive_in_lambda_event_shape(stack: Stack) -> None:
    # GIVEN a table whose stream feeds a consumer
    stream_arn = stack.dynamodb.describe_table(TableName=stack.table("Partial"))["Table"]["LatestStreamArn"]
    # WHEN an item with a binary attribute is written and the poller runs
    stack.put("Partial", "shape-1", blob={"B": b"\x00\x01bin"}, tags={"BS": [b"a"]}, nested={"M": {"b": {"B": b"z"}}})
    drain(stack.poller)
    # THEN the function gets Lambda's record shape, not moto's
    [[record]] = consumers.INVOCATIONS[stack.function("Partial")]
    assert record["eventSourceARN"] == stream_arn
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventName"] == "INSERT"
    assert "userIdentity" not in record
    ddb = record["dynamodb"]
    assert isinstance(ddb["ApproximateCreationDateTime"], int)
    assert isinstance(ddb["SizeBytes"], int) and ddb["SizeBytes"] > 0
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert ddb["Keys"] == {"pk": {"S": "shape-1"}}
    # binary values base64-encoded, at any depth
    assert ddb["NewImage"]["blob"] == {"B": "AAFiaW4="}
    assert ddb["NewImage"]["tags"] == {"BS": ["YQ=="]}
    assert ddb["NewImage"]["nested"] == {"M": {"b": {"B": "eg=="}}}
    assert "OldImage" not in ddb


def test_the_backend_source_reads_exactly_what_get_records_returns(stack: Stack) -> None:
    from local.streams import ApiStreamSource, BackendStreamSource

    # GIVEN a stream with an insert (binary values, nested), a modify and a remove on it
    stream_arn = stack.dynamodb.describe_table(TableName=stack.table("Partial"))["Table"]["LatestStreamArn"]
    api, backend = ApiStreamSource(boto3.client("dynamodbstreams")), BackendStreamSource()
    [shard_id] = api.shard_ids(stream_arn)
    api_position, backend_position = (source.position(stream_arn, shard_id, "LATEST") for source in (api, backend))
    stack.put("Partial", "same-1", blob={"B": b"\x00\x01"}, tags={"SS": ["a", "b"]}, nested={"M": {"b": {"B": b"z"}}})
    stack.put("Partial", "same-1", n={"N": "2"})
    stack.dynamodb.delete_item(TableName=stack.table("Partial"), Key={"pk": {"S": "same-1"}})
    # WHEN both read from the same place
    api_records, _ = api.read(stream_arn, api_position)
    backend_records, next_position = backend.read(stream_arn, backend_position)
    # THEN they are the same records, in the same Lambda shape (creation times: the same second)
    assert backend.shard_ids(stream_arn) == [shard_id]
    assert [r["eventName"] for r in backend_records] == ["INSERT", "MODIFY", "REMOVE"]
    assert backend_records == api_records
    # AND the backend's records are copies: changing one leaves the stream as it was
    backend_records[0]["dynamodb"]["NewImage"]["tags"]["SS"].append("c")
    assert backend.read(stream_arn, backend_position)[0] == api_records
    # AND reading on from the next position finds nothing new
    assert backend.read(stream_arn, next_position) == ([], next_position)
    drain(stack.poller)  # the poller's own copies, so that later tests start from an empty stream


# -- (a) partial batch failure ------------------------------------------------------------------


def test_reported_failure_retries_that_record_and_the_ones_after_it(stack: Stack) -> None:
    # GIVEN five records in one batch, the third of which fails once
    pks = [f"partial-{i}" for i in range(1, 6)]
    consumers.FAILURES["partial-3"] = 1
    for pk in pks:
        stack.put("Partial", pk)
    # WHEN the poller delivers them
    drain(stack.poller)
    # THEN the batch is retried from the failed record: 3, 4 and 5 again, never 1 and 2
    assert consumers.batches(stack.function("Partial")) == [pks, pks[2:]]
    # AND nothing reached the on-failure destination
    assert stack.failure_records("Partial") == []
    # AND the shard moved on: a later write is delivered alone
    stack.put("Partial", "partial-6")
    drain(stack.poller)
    assert consumers.batches(stack.function("Partial"))[-1] == ["partial-6"]


# -- (b) retries exhausted -> on-failure destination ------------------------------------------


def test_record_failing_past_its_retries_goes_to_the_on_failure_queue(stack: Stack) -> None:
    # GIVEN batches of three and a record that always fails (the mapping allows 2 retries)
    pks = [f"exhausted-{i}" for i in range(1, 6)]
    consumers.FAILURES["exhausted-3"] = -1
    for pk in pks:
        stack.put("Exhausted", pk)
    # WHEN the poller runs
    drain(stack.poller)
    # THEN 1-2-3 is delivered, 3 is retried twice (powertools raises when a whole batch fails),
    # and then the stream moves on to 4-5
    assert consumers.batches(stack.function("Exhausted")) == [
        ["exhausted-1", "exhausted-2", "exhausted-3"],
        ["exhausted-3"],
        ["exhausted-3"],
        ["exhausted-4", "exhausted-5"],
    ]
    # AND the on-failure queue holds Lambda's failure record naming exactly record 3
    sequence = stack.sequence_numbers("Exhausted")
    [failure] = stack.failure_records("Exhausted")
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence["exhausted-3"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == stack.deployment.resolve(
        {"Fn::GetAtt": [_logical_id(stack.deployment.template, "AWS::DynamoDB::Table", "ExhaustedTable"), "StreamArn"]}
    )
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith(f":function:{stack.function('Exhausted')}")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["version"] == "1.0"
    # AND later writes are still delivered
    stack.put("Exhausted", "exhausted-6")
    drain(stack.poller)
    assert consumers.batches(stack.function("Exhausted"))[-1] == ["exhausted-6"]
    assert stack.failure_records("Exhausted") == []


# -- (c) exception + bisect -------------------------------------------------------------------


def test_exception_fails_the_whole_batch_and_bisect_isolates_the_poison_record(stack: Stack) -> None:
    # GIVEN a consumer without partial responses and a poison record third in a batch of four
    pks = [f"bisect-{i}" for i in range(1, 5)]
    consumers.FAILURES["bisect-3"] = -1
    for pk in pks:
        stack.put("Bisect", pk)
    # WHEN the poller runs
    drain(stack.poller)
    # THEN the whole batch fails, is halved (halving uses no retry), the good half succeeds,
    # the bad half is halved again, and only record 3 is retried (initial call + 2 retries)
    assert consumers.batches(stack.function("Bisect")) == [
        ["bisect-1", "bisect-2", "bisect-3", "bisect-4"],
        ["bisect-1", "bisect-2"],
        ["bisect-3", "bisect-4"],
        ["bisect-3"],
        ["bisect-3"],
        ["bisect-3"],
        ["bisect-4"],
    ]
    # AND only record 3 is reported as failed
    [failure] = stack.failure_records("Bisect")
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == stack.sequence_numbers("Bisect")["bisect-3"]
    assert failure["requestContext"]["approximateInvokeCount"] == 3


def test_invalid_failure_report_fails_the_whole_batch(stack: Stack) -> None:
    # GIVEN a consumer that once reports a failure naming no record of its batch
    consumers.FAILURES["invalid-1"] = 1
    stack.put("Invalid", "invalid-1")
    stack.put("Invalid", "invalid-2")
    # WHEN the poller runs
    drain(stack.poller)
    # THEN Lambda treats that as a failure of the whole batch and retries all of it
    assert consumers.batches(stack.function("Invalid")) == [["invalid-1", "invalid-2"], ["invalid-1", "invalid-2"]]
    assert stack.failure_records("Invalid") == []


def test_unlimited_retries_block_the_shard_in_order_until_the_record_succeeds(stack: Stack) -> None:
    # GIVEN a mapping without a retry limit and a record that fails for now
    mapping = next(m for m in stack.poller.mappings.values() if m.function_name == stack.function("Unlimited"))
    assert mapping.maximum_retry_attempts == -1
    consumers.FAILURES["unlimited-1"] = -1
    stack.put("Unlimited", "unlimited-1")
    stack.poller.poll_once()
    stack.put("Unlimited", "unlimited-2")
    # WHEN the poller runs a few times
    for _ in range(3):
        assert stack.poller.poll_once() > 0  # one attempt per poll, never a busy loop
    # THEN the later record waits behind the failing one (order per shard), nothing is dropped
    assert consumers.batches(stack.function("Unlimited")) == [["unlimited-1"]] * 4
    # WHEN the record stops failing
    consumers.FAILURES["unlimited-1"] = 0
    drain(stack.poller)
    # THEN the same batch is delivered again, then the record that waited
    assert consumers.batches(stack.function("Unlimited"))[-2:] == [["unlimited-1"], ["unlimited-2"]]
    assert stack.failure_records("Unlimited") == []


# -- (d) filter criteria ---------------------------------------------------------------------


def test_filter_criteria_decide_which_records_reach_the_function(stack: Stack) -> None:
    # GIVEN filters "INSERT of kind order*" OR "priority is not low"
    # WHEN records of every kind are written
    stack.put("Filtered", "order-1", kind={"S": "order-created"})  # matches filter 1
    stack.put("Filtered", "refund-1", kind={"S": "refund"})  # no filter
    stack.put("Filtered", "order-1", kind={"S": "order-paid"})  # MODIFY: filter 1 wants INSERT
    stack.put("Filtered", "urgent-1", priority={"S": "high"})  # matches filter 2
    stack.put("Filtered", "low-1", priority={"S": "low"})  # anything-but low: no
    stack.put("Filtered", "plain-1")  # no kind, no priority: no
    drain(stack.poller)
    # THEN only the matching records are delivered, in order, in one batch
    [batch] = consumers.INVOCATIONS[stack.function("Filtered")]
    assert [(r["eventName"], consumers.pk_of(r)) for r in batch] == [("INSERT", "order-1"), ("INSERT", "urgent-1")]


RECORD = {
    "eventName": "MODIFY",
    "eventSource": "aws:dynamodb",
    "dynamodb": {
        "Keys": {"pk": {"S": "order#42"}},
        "NewImage": {
            "pk": {"S": "order#42"},
            "status": {"S": "PAID"},
            "total": {"N": "120"},
            "tags": {"L": [{"S": "gift"}, {"S": "express"}]},
        },
        "OldImage": {"pk": {"S": "order#42"}, "status": {"S": "PENDING"}},
        "SizeBytes": 87,
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["INSERT", "REMOVE"]}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}, True),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "order#"}]}}}}, True),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "cart#"}]}}}}, False),
        ({"dynamodb": {"Keys": {"pk": {"S": [{"suffix": "#42"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"equals-ignore-case": "paid"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["PAID", "SHIPPED"]}]}}}}, False),
        ({"dynamodb": {"OldImage": {"status": {"S": [{"anything-but": "PAID"}]}}}}, True),
        ({"dynamodb": {"OldImage": {"status": {"S": [{"anything-but": {"prefix": "PEND"}}]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"coupon": {"S": [{"exists": False}]}}}}, True),
        ({"dynamodb": {"NewImage": {"coupon": {"S": [{"exists": True}]}}}}, False),
        # exists:false also holds when a whole parent (here OldImage's "coupon") is missing
        ({"dynamodb": {"OldImage": {"coupon": {"M": {"code": {"S": [{"exists": False}]}}}}}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 10, "<=", 100]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": ["<", 10]}]}}, False),
        # DynamoDB numbers are strings in the record: numeric rules never match them (as in AWS)
        ({"dynamodb": {"NewImage": {"total": {"N": [{"numeric": [">", 100]}]}}}}, False),
        ({"dynamodb": {"NewImage": {"total": {"N": ["120"]}}}}, True),
        # arrays in the record match when any element matches
        ({"dynamodb": {"NewImage": {"tags": {"L": {"S": ["express"]}}}}}, True),
        # every key must match ...
        ({"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}}}, False),
        # ... unless $or says otherwise
        ({"$or": [{"eventName": ["INSERT"]}, {"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}]}, True),
        ({"eventSource": [None]}, False),
    ],
)
def test_filter_pattern_forms(pattern: dict[str, Any], expected: bool) -> None:
    # GIVEN a Lambda-shaped stream record WHEN a pattern is applied THEN it matches as in Lambda
    assert matches_pattern(RECORD, pattern) is expected


def test_filter_criteria_are_or_of_patterns() -> None:
    assert matches_filter_criteria(RECORD, []) is True
    assert matches_filter_criteria(RECORD, [{"eventName": ["INSERT"]}, {"eventName": ["MODIFY"]}]) is True
    assert matches_filter_criteria(RECORD, [{"eventName": ["INSERT"]}, {"eventName": ["REMOVE"]}]) is False


# -- deployment ------------------------------------------------------------------------------


def test_deployment_records_real_names_and_arns(stack: Stack) -> None:
    # GIVEN the deployed stack WHEN its intrinsics are resolved THEN they name moto's resources
    table_id = _logical_id(stack.deployment.template, "AWS::DynamoDB::Table", "PartialTable")
    queue_id = _logical_id(stack.deployment.template, "AWS::SQS::Queue", "PartialOnFailure")
    description = stack.dynamodb.describe_table(TableName=table_id)["Table"]
    assert stack.deployment.resolve({"Ref": table_id}) == table_id
    assert stack.deployment.resolve({"Fn::GetAtt": [table_id, "StreamArn"]}) == description["LatestStreamArn"]
    assert stack.deployment.resolve({"Fn::GetAtt": [table_id, "Arn"]}) == description["TableArn"]
    ttl = stack.dynamodb.describe_time_to_live(TableName=table_id)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    queue_url = stack.deployment.resolve({"Ref": queue_id})
    arn = stack.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert stack.deployment.resolve({"Fn::GetAtt": [queue_id, "Arn"]}) == arn
    # AND deploying again is harmless
    assert deploy_tables(stack.deployment, stack.dynamodb)[table_id] == table_id
    assert deploy_queues(stack.deployment, stack.sqs)[queue_id] == queue_url


# -- the running poller: one delivery thread per mapping, woken by stream writes ---------------


def test_an_idle_running_poller_makes_no_stream_calls_and_a_write_wakes_its_mapping(stack: Stack) -> None:
    import threading
    import time

    calls: list[str] = []
    lock = threading.Lock()
    source = stack.poller.source  # moto's backend here (moto in this process), read like GetRecords

    def counted(name: str) -> Any:
        method = getattr(source, name)

        def call(*args: Any) -> Any:
            with lock:
                calls.append(name)
            return method(*args)

        return call

    drain(stack.poller)  # whatever earlier tests left
    for name in ("shard_ids", "read"):
        setattr(source, name, counted(name))
    # GIVEN a running poller (moto in this process: event-driven) with one thread per mapping
    stack.poller.start()
    try:
        names = {thread.name for thread in threading.enumerate()}
        assert {f"stream-{logical_id}" for logical_id in stack.poller.consumers} <= names
        # WHEN nothing is written for a while
        time.sleep(0.6)  # the threads' first read of every stream happens at start
        with lock:
            calls.clear()
        time.sleep(1.5)
        # THEN it reads no stream at all
        with lock:
            assert calls == []
        # WHEN three items are written to a table whose mapping has a 1 s batching window
        for index in range(3):
            stack.put("Windowed", f"windowed-{index}")
        deadline = time.monotonic() + 10
        while not consumers.INVOCATIONS[stack.function("Windowed")] and time.monotonic() < deadline:
            time.sleep(0.05)
        # THEN its mapping reads the stream without any manual poll and delivers the three as one batch
        # (the window collects them), and only that mapping read its stream (a poll of every mapping
        # would be at least one read each)
        assert consumers.batches(stack.function("Windowed")) == [["windowed-0", "windowed-1", "windowed-2"]]
        with lock:
            assert calls and set(calls) <= {"shard_ids", "read"}
            assert len(calls) < 2 * len(stack.poller.consumers), calls
    finally:
        stack.poller.stop()
        for name in ("shard_ids", "read"):
            delattr(source, name)
    # AND stopping it ends its threads (a session stack's own poller threads may be running too)
    mine = {f"stream-{logical_id}" for logical_id in stack.poller.consumers}
    assert not mine & {thread.name for thread in threading.enumerate()}
