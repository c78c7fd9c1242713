"""Order notifications: the `OrderEvents` bus, a rule feeding the notification queue, and the
function that sends the emails (docs/decisions/0014-checkout-saga-design.md, Notifications).

  orders stream -> publisher (a stream consumer; `grant_publish` lets it put on the bus)
    -> OrderEvents bus -> rule (shop.orders, order.confirmed/cancelled/failed/shipped)
    -> NotificationQueue -> NotificationSender (SES) -> the notifications table (dedupe, outbox)

Every hop keeps its failures (infra/aspects.py): the rule's target retries delivery, then puts
the event on its own dead-letter queue; the queue hands a message to the function up to 5
times (the function reports failures per message), then moves it to its dead-letter queue.
Both hold the EventBridge event itself, so either can be re-driven into NotificationQueue.

In the app (ADR 0038) the bus is the parent stack's (`OrderEventBus`: publishers of any service
put on it), and the rest is the notifications service's nested stack (`NOTIFICATIONS_SERVICE`).
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.notifications.api import DETAIL_TYPES, SOURCE
from infra.config import StageConfig
from infra.functions import FunctionFactory
from infra.streams import failure_queue
from infra.topology import Access, Table

# What the publisher puts on the bus (one definition, shared with the code that publishes it).
NOTIFIED_DETAIL_TYPES = tuple(DETAIL_TYPES.values())
SENDER_HANDLER = "functions.notifications.consumers.send_notifications.handler"
NOTIFICATIONS_SERVICE = "notifications"  # the service whose nested stack holds OrderNotifications
MAX_RECEIVES = 5  # deliveries of one message before it is parked
TARGET_RETRY_ATTEMPTS = 8  # EventBridge -> queue; failing that, the target's dead-letter queue
# SES sends at an account-wide rate (14/s to start): two concurrent senders stay under it; a burst
# waits in the queue instead of failing into its dead-letter queue.
MAX_CONCURRENCY = 2

QUEUE_DLQ_REASON = (
    "This queue IS the dead-letter queue of NotificationQueue (messages the sender failed "
    f"{MAX_RECEIVES} times); operators re-drive it into NotificationQueue after a fix."
)
TARGET_DLQ_REASON = (
    "This queue IS the dead-letter queue of the OrderEvents rule's target (events EventBridge "
    "could not put on NotificationQueue); operators re-drive it into NotificationQueue."
)


def grant_publish(bus: events.IEventBus, function: lambda_.IFunction) -> None:
    """Let a publisher (the orders stream's) put events on the bus, and tell it the bus's name
    (env EVENT_BUS_NAME, read by functions/notifications/consumers/publish_order_events.py)."""
    bus.grant_put_events_to(function)
    if isinstance(function, lambda_.Function):
        function.add_environment("EVENT_BUS_NAME", bus.event_bus_name)


class OrderEventBus(Construct):
    """The `OrderEvents` bus in the parent stack. Built as `Notifications/OrderEvents`, the path it
    had inside OrderNotifications before the services became nested stacks: the same logical id
    and the same (path-derived) bus name, so the bus is kept, not replaced."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "OrderEvents")

    def grant_publish(self, function: lambda_.IFunction) -> None:
        grant_publish(self.bus, function)


class OrderNotifications(Construct):
    """The bus, rule, queues and sender function.

    `bus`: the OrderEvents bus (the app's is the parent stack's, `OrderEventBus`); without one the
    construct makes its own. `notifications_table` is the topology definition of the notifications
    table; `factory` must already hold its CDK table (`factory.tables[notifications_table.id]`). The sender
    gets: its env (NOTIFICATIONS_TABLE_NAME, NOTIFICATION_SENDER=ses, NOTIFICATION_FROM_ADDRESS),
    read/write on that table, AdminGetUser on the user pool, ses:SendEmail as the from-address's
    domain identity (which must be verified in SES).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        notifications_table: Table,
        config: StageConfig,
        from_address: str = "orders@example.com",
        timeout_seconds: int = 30,
        bus: events.IEventBus | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        local_part, _, domain = from_address.partition("@")
        if not local_part or not domain:
            raise ValueError(f"from_address must be an email address, not {from_address!r}")

        self.bus = bus if bus is not None else events.EventBus(self, "OrderEvents")

        self.function = factory.create(
            "NotificationSender",
            SENDER_HANDLER,
            ((notifications_table, Access.READ_WRITE),),
            # The user id is the Cognito sub, which AdminGetUser takes as the username
            # (functions/notifications/recipients.py): no ListUsers needed.
            user_pool_actions=("cognito-idp:AdminGetUser",),
            timeout_seconds=timeout_seconds,
            description="Emails buyers and sellers about their orders (order events from the notification queue).",
        )
        self.function.add_environment("NOTIFICATIONS_TABLE_NAME", factory.tables[notifications_table.id].table_name)
        self.function.add_environment("NOTIFICATION_SENDER", "ses")
        self.function.add_environment("NOTIFICATION_FROM_ADDRESS", from_address)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[Stack.of(self).format_arn(service="ses", resource="identity", resource_name=domain)],
            )
        )

        # Parked messages outlive a stack deletion in stages that keep their data.
        self.dead_letter_queue = failure_queue(self, "NotificationDeadLetterQueue", reason=QUEUE_DLQ_REASON)
        self.target_dead_letter_queue = failure_queue(self, "NotificationTargetDeadLetterQueue", reason=TARGET_DLQ_REASON)
        for queue in (self.dead_letter_queue, self.target_dead_letter_queue):
            queue.apply_removal_policy(config.removal_policy)

        self.queue = sqs.Queue(
            self,
            "NotificationQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # AWS's advice for Lambda consumers: 6x the function timeout, so a message is not
            # handed to a second consumer while the first (with its retries) may still run.
            visibility_timeout=Duration.seconds(6 * timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.dead_letter_queue),
        )

        self.rule = events.Rule(
            self,
            "NotifyOnOrderEvents",
            event_bus=self.bus,
            description="Order events a buyer or seller is told about -> the notification queue.",
            event_pattern=events.EventPattern(source=[SOURCE], detail_type=list(NOTIFIED_DETAIL_TYPES)),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    retry_attempts=TARGET_RETRY_ATTEMPTS,
                    max_event_age=Duration.hours(24),
                    dead_letter_queue=self.target_dead_letter_queue,
                )
            ],
        )

        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )

    def grant_publish(self, function: lambda_.IFunction) -> None:
        grant_publish(self.bus, function)
