"""Scheduled jobs (topology `ScheduledJob`): an EventBridge rule invoking a function on a rate.

Both asynchronous hops keep their failures (the project's rule: every async path has retries
and a DLQ; infra/aspects.py enforces it):

- EventBridge -> Lambda: the target retries delivery, then puts the event in the job's queue;
- Lambda's asynchronous invocation: the function is retried, then Lambda's on-failure record
  (request and error) goes to the same queue.

A missed run needs no replay: the next run does the same work (jobs must be idempotent). The
queue is there so that a failing job is visible (and alarmable), not silently skipped. Retries
stop after a few periods, when a newer run has superseded the event anyway.

The local stack cannot wait a minute per tick: the rule's CloudFormation metadata
`local:interval_seconds` tells local/scheduler.py how often to run it instead.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.functions import FunctionFactory
from infra.streams import failure_queue
from infra.topology import ScheduledJob

LOCAL_INTERVAL_METADATA = "local:interval_seconds"  # read by local/scheduler.py
RETRY_ATTEMPTS = 2  # per hop: EventBridge delivery, then Lambda's asynchronous retries
MAX_RETRY_PERIODS = 5  # events older than five periods are superseded by newer runs

SCHEDULE_DLQ_REASON = (
    "This queue IS the dead-letter queue of a scheduled job (its EventBridge target's DLQ and its "
    "function's on-failure destination); nothing replays it: the next run does the same idempotent "
    "work, the messages are kept 14 days to see why runs failed."
)


def add_scheduled_job(
    scope: Construct, job: ScheduledJob, factory: FunctionFactory
) -> tuple[events.Rule, lambda_.Function, sqs.Queue]:
    function = factory.create(
        job.id, job.handler, job.tables, timeout_seconds=job.timeout_seconds, description=job.description
    )
    queue = failure_queue(scope, f"{job.id}FailureQueue", reason=SCHEDULE_DLQ_REASON)
    period = Duration.minutes(job.rate_minutes)
    # Lambda's async retry window is at most six hours; EventBridge's is 24 h.
    max_age = Duration.minutes(min(MAX_RETRY_PERIODS * job.rate_minutes, 6 * 60))
    function.configure_async_invoke(
        retry_attempts=RETRY_ATTEMPTS,
        max_event_age=max_age,
        on_failure=destinations.SqsDestination(queue),
    )
    rule = events.Rule(
        scope,
        f"{job.id}Schedule",
        schedule=events.Schedule.rate(period),
        description=(job.description or f"Runs {job.handler}")[:512],
        targets=[
            targets.LambdaFunction(
                function, retry_attempts=RETRY_ATTEMPTS, max_event_age=max_age, dead_letter_queue=queue
            )
        ],
    )
    rule.node.default_child.add_metadata(LOCAL_INTERVAL_METADATA, job.local_interval_seconds)
    return rule, function, queue
