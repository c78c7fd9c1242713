"""infra/aspects.py EveryQueueAndStreamConsumerHasAnAlarm, on small stacks built for each case."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import assertions
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

from infra.aspects import EveryQueueAndStreamConsumerHasAnAlarm

NO_QUEUE_ALARM = "SQS queue has no CloudWatch alarm (infra/monitoring.py)."
NO_ITERATOR_AGE_ALARM = "Stream consumer has no IteratorAge alarm (infra/monitoring.py)."


def _errors(build: Callable[[cdk.Stack], None]) -> list[str]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-alarm-aspect-"))
    stack = cdk.Stack(app, "AlarmAspectTest")
    build(stack)
    cdk.Aspects.of(app).add(EveryQueueAndStreamConsumerHasAnAlarm())
    annotations = assertions.Annotations.from_stack(stack)
    return [m.entry.data for m in annotations.find_error("*", assertions.Match.any_value())]


def _alarm(scope, construct_id: str, metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(scope, construct_id, metric=metric, threshold=0, evaluation_periods=1)


def _stream_consumer(stack: cdk.Stack) -> lambda_.Function:
    table = dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                           stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
    function = lambda_.Function(stack, "Consumer", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(e, c): pass"))
    function.add_event_source(sources.DynamoEventSource(table, starting_position=lambda_.StartingPosition.TRIM_HORIZON))
    return function


def test_a_queue_without_an_alarm_fails_the_synth():
    # GIVEN a queue nobody watches  THEN the synth reports it
    assert _errors(lambda stack: sqs.Queue(stack, "Parked")) == [NO_QUEUE_ALARM]


def test_a_queue_with_an_alarm_on_its_metric_passes():
    def build(stack: cdk.Stack) -> None:
        queue = sqs.Queue(stack, "Parked")
        _alarm(stack, "ParkedAlarm", queue.metric_approximate_number_of_messages_visible())

    assert _errors(build) == []


def test_an_alarm_on_another_queue_does_not_count():
    def build(stack: cdk.Stack) -> None:
        watched = sqs.Queue(stack, "Watched")
        sqs.Queue(stack, "Unwatched")
        _alarm(stack, "WatchedAlarm", watched.metric_approximate_number_of_messages_visible())

    assert _errors(build) == [NO_QUEUE_ALARM]


def test_a_stream_consumer_without_an_iterator_age_alarm_fails_the_synth_even_with_other_alarms():
    def build(stack: cdk.Stack) -> None:
        function = _stream_consumer(stack)
        _alarm(stack, "ErrorsAlarm", function.metric_errors())  # errors are not lag

    assert _errors(build) == [NO_ITERATOR_AGE_ALARM]


def test_an_iterator_age_alarm_in_a_nested_stack_covers_the_stream_consumer():
    # GIVEN alarms built in a nested stack (as infra/monitoring.py does), inside metric math
    def build(stack: cdk.Stack) -> None:
        function = _stream_consumer(stack)
        nested = cdk.NestedStack(stack, "Monitoring")
        lag = cloudwatch.MathExpression(expression="MAX(METRICS())", using_metrics={"a": function.metric("IteratorAge")})
        _alarm(nested, "LagAlarm", lag)

    # THEN it counts
    assert _errors(build) == []


def test_the_real_app_runs_the_alarm_aspect_and_passes_it(dev):
    # GIVEN the real app as app.py builds it  THEN the aspect is applied, and the synth succeeded (no error)
    applied = [aspect for aspect in cdk.Aspects.of(dev.app).all if isinstance(aspect, EveryQueueAndStreamConsumerHasAnAlarm)]
    assert len(applied) == 1
    errors = assertions.Annotations.from_stack(dev.stack).find_error("*", assertions.Match.string_like_regexp("alarm"))
    assert errors == []
