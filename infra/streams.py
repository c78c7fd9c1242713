"""Stream consumers: every DynamoDB stream mapping gets retries, bisect, partial batch failure
reporting and an on-failure queue, so a poison record is parked, never lost or looping."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig
from infra.topology import StreamConsumer

STREAM_DLQ_REASON = (
    "This queue IS the dead-letter destination of a stream mapping (Lambda's on-failure "
    "record); nothing consumes it automatically, operators re-drive it with ops/replay_failures."
)


def failure_queue(scope: Construct, construct_id: str, reason: str = STREAM_DLQ_REASON) -> sqs.Queue:
    """An encrypted, SSL-only queue kept 14 days; `reason` says why it needs no DLQ of its own."""
    queue = sqs.Queue(
        scope,
        construct_id,
        retention_period=Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    Validations.of(queue).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-SQS3", reason=reason))
    return queue


def attach_stream_consumer(
    scope: Construct,
    consumer: StreamConsumer,
    function: lambda_.Function,
    table: dynamodb.Table,
    config: StageConfig,
) -> sqs.Queue:
    dlq = failure_queue(scope, f"{consumer.id}FailureQueue")
    filters = []
    if consumer.filter_event_names:
        filters.append(lambda_.FilterCriteria.filter({"eventName": list(consumer.filter_event_names)}))
    for pattern in consumer.filter_patterns:
        filters.append(lambda_.FilterCriteria.filter(pattern))
    function.add_event_source(
        sources.DynamoEventSource(
            table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=consumer.batch_size,
            max_batching_window=Duration.seconds(consumer.max_batching_window_seconds),
            retry_attempts=consumer.retry_attempts,
            bisect_batch_on_error=True,
            report_batch_item_failures=True,
            on_failure=sources.SqsDlq(dlq),
            filters=filters or None,
        )
    )
    return dlq
