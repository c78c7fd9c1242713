"""infra/aspects.py AsyncConsumersHaveFailureDestination, on small stacks built for each case."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from infra.aspects import AsyncConsumersHaveFailureDestination
from infra.config import stage_config
from infra.data import create_table
from infra.streams import attach_stream_consumer
from infra.topology import StreamConsumer, Table

from .conftest import Synth

NO_STREAM_DLQ = "Stream event source mapping has no on-failure destination (DLQ)."
NO_REDRIVE = "SQS event source queue has no redrive policy (DLQ)."


def _annotations(build: Callable[[cdk.Stack], None]) -> dict[str, list[tuple[str, str]]]:
    """Synthesize `build(stack)` with the aspect; (construct path, message) of errors and warnings."""
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-aspects-"))
    stack = cdk.Stack(app, "AspectTest")
    build(stack)
    cdk.Aspects.of(app).add(AsyncConsumersHaveFailureDestination())
    annotations = assertions.Annotations.from_stack(stack)
    return {
        "errors": [(m.id, m.entry.data) for m in annotations.find_error("*", assertions.Match.any_value())],
        "warnings": [(m.id, m.entry.data) for m in annotations.find_warning("*", assertions.Match.any_value())],
    }


def _errors(build: Callable[[cdk.Stack], None]) -> list[tuple[str, str]]:
    return _annotations(build)["errors"]


def _function(stack: cdk.Stack, construct_id: str = "Fn", **kwargs) -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        **kwargs,
    )


def _stream_table(stack: cdk.Stack) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )


def _on_failure_queue(stack: cdk.Stack) -> destinations.SqsDestination:
    return destinations.SqsDestination(sqs.Queue(stack, "OnFailure"))


def _every_five_minutes() -> events.Schedule:
    return events.Schedule.rate(cdk.Duration.minutes(5))


# --- (a, b) DynamoDB stream event sources ------------------------------------------------------
def test_a_stream_mapping_without_on_failure_is_an_error() -> None:
    # GIVEN a function consuming a DynamoDB stream with no on-failure destination
    def build(stack: cdk.Stack) -> None:
        _function(stack).add_event_source(
            sources.DynamoEventSource(_stream_table(stack), starting_position=lambda_.StartingPosition.TRIM_HORIZON)
        )

    # WHEN the stack is synthesized with the aspect
    errors = _errors(build)

    # THEN the mapping carries an error: a poison record would be dropped after the retries
    assert len(errors) == 1
    path, message = errors[0]
    assert path.startswith("/AspectTest/Fn/DynamoDBEventSource") and message == NO_STREAM_DLQ


def test_a_stream_mapping_with_an_sqs_on_failure_destination_passes() -> None:
    # GIVEN the same consumer with an SqsDlq on-failure destination
    def build(stack: cdk.Stack) -> None:
        _function(stack).add_event_source(
            sources.DynamoEventSource(
                _stream_table(stack),
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                on_failure=sources.SqsDlq(sqs.Queue(stack, "Dlq")),
            )
        )

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


def test_the_projects_stream_consumer_helper_satisfies_the_aspect() -> None:
    # GIVEN a stream consumer attached the way infra/streams.py attaches every consumer
    table = Table(id="EventsTable", env_var="EVENTS_TABLE_NAME", stream=True)
    consumer = StreamConsumer(id="Projector", table=table, handler="functions.x.handler", filter_event_names=("INSERT",))

    def build(stack: cdk.Stack) -> None:
        config = stage_config("dev")
        attach_stream_consumer(stack, consumer, _function(stack), create_table(stack, table, config), config)

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


# --- (c) SQS event sources ---------------------------------------------------------------------
def test_an_sqs_source_queue_without_a_dead_letter_queue_is_an_error() -> None:
    # GIVEN a function consuming a queue that has no redrive policy
    def build(stack: cdk.Stack) -> None:
        _function(stack).add_event_source(sources.SqsEventSource(sqs.Queue(stack, "Queue")))

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the mapping carries the SQS error (not the stream one)
    assert [message for _, message in errors] == [NO_REDRIVE]
    assert errors[0][0].startswith("/AspectTest/Fn/SqsEventSource")


def test_an_sqs_source_queue_with_a_dead_letter_queue_passes() -> None:
    # GIVEN a function consuming a queue with a redrive policy
    def build(stack: cdk.Stack) -> None:
        dlq = sqs.DeadLetterQueue(queue=sqs.Queue(stack, "Dlq"), max_receive_count=3)
        _function(stack).add_event_source(sources.SqsEventSource(sqs.Queue(stack, "Queue", dead_letter_queue=dlq)))

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


def test_an_sqs_source_queue_is_recognised_when_its_logical_id_is_overridden() -> None:
    # GIVEN a queue with a dead-letter queue whose logical id is pinned with override_logical_id
    def build(stack: cdk.Stack) -> None:
        dlq = sqs.DeadLetterQueue(queue=sqs.Queue(stack, "Dlq"), max_receive_count=3)
        queue = sqs.Queue(stack, "Queue", dead_letter_queue=dlq)
        queue.node.default_child.override_logical_id("OrdersQueue")
        _function(stack).add_event_source(sources.SqsEventSource(queue))

    # WHEN it is synthesized with the aspect
    # THEN it is still found as the mapping's queue, and its redrive policy counts
    assert _errors(build) == []


def test_an_imported_sqs_source_queue_is_a_warning_not_a_stream_error() -> None:
    # GIVEN a function consuming a queue imported by ARN (its redrive policy is not in this app)
    def build(stack: cdk.Stack) -> None:
        queue = sqs.Queue.from_queue_arn(stack, "Queue", "arn:aws:sqs:eu-west-1:123456789012:orders")
        _function(stack).add_event_source(sources.SqsEventSource(queue))

    # WHEN it is synthesized with the aspect
    annotations = _annotations(build)

    # THEN it is not mistaken for a stream without on-failure; the check it cannot make is a warning
    assert annotations["errors"] == []
    assert len(annotations["warnings"]) == 1 and "redrive policy" in annotations["warnings"][0][1]


# --- (d) EventBridge rules ---------------------------------------------------------------------
def test_a_rule_targeting_a_function_without_a_dead_letter_queue_is_an_error() -> None:
    # GIVEN a rule whose Lambda target has no dead-letter queue (the function has an on-failure destination)
    def build(stack: cdk.Stack) -> None:
        function = _function(stack, on_failure=_on_failure_queue(stack))
        events.Rule(stack, "Rule", schedule=_every_five_minutes(), targets=[targets.LambdaFunction(function)])

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the rule carries an error naming the target
    assert errors == [("/AspectTest/Rule/Resource", "EventBridge target Target0 has no dead-letter queue.")]


def test_a_rule_target_with_a_dead_letter_queue_passes() -> None:
    # GIVEN a rule whose Lambda target has a dead-letter queue (and a function with an on-failure destination)
    def build(stack: cdk.Stack) -> None:
        function = _function(stack, on_failure=_on_failure_queue(stack))
        target = targets.LambdaFunction(function, dead_letter_queue=sqs.Queue(stack, "TargetDlq"))
        events.Rule(stack, "Rule", schedule=_every_five_minutes(), targets=[target])

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


def test_a_rule_target_dead_letter_queue_does_not_cover_the_functions_own_failures() -> None:
    # GIVEN a rule with a target DLQ, targeting a function with no on-failure destination.
    # EventBridge invokes Lambda asynchronously: the target DLQ only catches events it could not
    # deliver; an invocation that fails after Lambda's retries is lost without the function's own.
    def build(stack: cdk.Stack) -> None:
        target = targets.LambdaFunction(_function(stack), dead_letter_queue=sqs.Queue(stack, "TargetDlq"))
        events.Rule(stack, "Rule", schedule=_every_five_minutes(), targets=[target])

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the rule passes but the function (whose permission lives under the rule) is flagged
    assert errors == [
        ("/AspectTest/Fn", "Fn is invoked asynchronously by events.amazonaws.com without an on-failure destination.")
    ]


# --- (e) asynchronous invocations --------------------------------------------------------------
def _s3_notification(stack: cdk.Stack, function: lambda_.Function) -> None:
    s3.Bucket(stack, "Bucket").add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function))


def _sns_subscription(stack: cdk.Stack, function: lambda_.Function) -> None:
    sns.Topic(stack, "Topic").add_subscription(subscriptions.LambdaSubscription(function))


def _events_permission(stack: cdk.Stack, function: lambda_.Function) -> None:
    function.add_permission("FromEvents", principal=iam.ServicePrincipal("events.amazonaws.com"))


ASYNC_INVOKERS = {
    "s3.amazonaws.com": _s3_notification,  # the permission is created under the bucket
    "sns.amazonaws.com": _sns_subscription,  # ... under the function
    "events.amazonaws.com": _events_permission,
}


@pytest.mark.parametrize("principal", ASYNC_INVOKERS)
def test_an_asynchronously_invoked_function_without_on_failure_is_an_error(principal: str) -> None:
    # GIVEN a function that a service invokes asynchronously, with no on-failure destination
    def build(stack: cdk.Stack) -> None:
        ASYNC_INVOKERS[principal](stack, _function(stack))

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the function carries an error naming the invoker
    assert errors == [("/AspectTest/Fn", f"Fn is invoked asynchronously by {principal} without an on-failure destination.")]


@pytest.mark.parametrize("principal", ASYNC_INVOKERS)
def test_an_asynchronously_invoked_function_with_an_on_failure_destination_passes(principal: str) -> None:
    # GIVEN the same function with an on-failure destination
    def build(stack: cdk.Stack) -> None:
        ASYNC_INVOKERS[principal](stack, _function(stack, on_failure=_on_failure_queue(stack)))

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


def _with_dead_letter_queue(stack: cdk.Stack) -> lambda_.Function:
    return _function(stack, dead_letter_queue_enabled=True)


def _with_separate_invoke_config(stack: cdk.Stack) -> lambda_.Function:
    function = _function(stack)
    lambda_.EventInvokeConfig(stack, "InvokeConfig", function=function, on_failure=_on_failure_queue(stack))
    return function


@pytest.mark.parametrize("configure", [_with_dead_letter_queue, _with_separate_invoke_config])
def test_other_forms_of_failure_destination_count(configure: Callable[[cdk.Stack], lambda_.Function]) -> None:
    # GIVEN an asynchronously invoked function whose failures go to a DLQ or a separate EventInvokeConfig
    def build(stack: cdk.Stack) -> None:
        _sns_subscription(stack, configure(stack))

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


def test_an_async_invoke_config_without_on_failure_does_not_count() -> None:
    # GIVEN an asynchronously invoked function with an invoke config that sets only retries
    def build(stack: cdk.Stack) -> None:
        function = _function(stack)
        function.configure_async_invoke(retry_attempts=0)
        _sns_subscription(stack, function)

    # WHEN it is synthesized with the aspect
    # THEN it is still an error
    assert [message for _, message in _errors(build)] == [
        "Fn is invoked asynchronously by sns.amazonaws.com without an on-failure destination."
    ]


def test_a_synchronous_invoker_needs_no_failure_destination() -> None:
    # GIVEN a function invoked only by API Gateway (synchronously: the caller sees the error)
    def build(stack: cdk.Stack) -> None:
        _function(stack).add_permission("FromApi", principal=iam.ServicePrincipal("apigateway.amazonaws.com"))

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


# --- the real app ------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_real_app_runs_the_aspect_and_passes_it(dev: Synth) -> None:
    # GIVEN the real app, synthesized
    # WHEN its aspects and its stack's error annotations are read
    aspects = cdk.Aspects.of(dev.app).all
    errors = assertions.Annotations.from_stack(dev.stack).find_error("*", assertions.Match.any_value())

    # THEN the aspect is applied to the whole app, and it found nothing
    assert any(isinstance(aspect, AsyncConsumersHaveFailureDestination) for aspect in aspects)
    assert errors == []


# --- (f) scheduled work: EventBridge rules with a schedule and EventBridge Scheduler -------------
NO_SCHEDULE_DLQ = "EventBridge Scheduler schedule target has no dead-letter queue."


def _scheduler_schedule(stack: cdk.Stack, function: lambda_.Function, dead_letter_queue: sqs.IQueue | None) -> None:
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk import aws_scheduler_targets as scheduler_targets

    scheduler.Schedule(
        stack,
        "Schedule",
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.minutes(5)),
        target=scheduler_targets.LambdaInvoke(function, dead_letter_queue=dead_letter_queue),
    )


def test_a_scheduler_schedule_without_a_dead_letter_queue_is_an_error() -> None:
    # GIVEN an EventBridge Scheduler schedule whose Lambda target has no DLQ (the function has an on-failure destination)
    def build(stack: cdk.Stack) -> None:
        _scheduler_schedule(stack, _function(stack, on_failure=_on_failure_queue(stack)), dead_letter_queue=None)

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the schedule carries the error
    assert errors == [("/AspectTest/Schedule/Resource", NO_SCHEDULE_DLQ)]


def test_a_scheduler_schedule_target_function_needs_its_own_on_failure_destination() -> None:
    # GIVEN a schedule with a target DLQ, invoking a function that has no on-failure destination.
    # Scheduler invokes through a role: no Lambda permission exists that would flag the function.
    def build(stack: cdk.Stack) -> None:
        _scheduler_schedule(stack, _function(stack), dead_letter_queue=sqs.Queue(stack, "TargetDlq"))

    # WHEN it is synthesized with the aspect
    errors = _errors(build)

    # THEN the function is flagged, naming the scheduler as its asynchronous invoker
    assert errors == [
        ("/AspectTest/Fn", "Fn is invoked asynchronously by scheduler.amazonaws.com without an on-failure destination.")
    ]


def test_a_scheduler_schedule_with_both_failure_destinations_passes() -> None:
    # GIVEN a schedule with a target DLQ, invoking a function with an on-failure destination
    def build(stack: cdk.Stack) -> None:
        function = _function(stack, on_failure=_on_failure_queue(stack))
        _scheduler_schedule(stack, function, dead_letter_queue=sqs.Queue(stack, "TargetDlq"))

    # WHEN it is synthesized with the aspect
    # THEN there is no error
    assert _errors(build) == []


class _FactoryStub:
    """What infra/schedules.py needs of infra/functions.FunctionFactory: create()."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self.created: list[tuple[str, str]] = []

    def create(self, construct_id: str, handler: str, *_: object, **__: object) -> lambda_.Function:
        self.created.append((construct_id, handler))
        return _function(self.stack, construct_id)


def test_the_projects_scheduled_job_helper_satisfies_the_aspect() -> None:
    # GIVEN a scheduled job added the way infra/schedules.py adds every job (rule, target DLQ,
    # function on-failure destination)
    from infra.schedules import add_scheduled_job
    from infra.topology import ScheduledJob

    job = ScheduledJob(id="Sweeper", handler="functions.x.sweep.handler", rate_minutes=1)
    factories: list[_FactoryStub] = []

    def build(stack: cdk.Stack) -> None:
        factories.append(_FactoryStub(stack))
        add_scheduled_job(stack, job, factories[-1])

    # WHEN it is synthesized with the aspect
    # THEN there is no error (and the job's function was made by the factory)
    assert _errors(build) == []
    assert factories[0].created == [("Sweeper", "functions.x.sweep.handler")]

