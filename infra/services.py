"""One nested stack per service of the topology (docs/decisions/0038-nested-stack-per-service.md).

A service's stack holds what is that service's own: its route functions, stream consumers and
scheduled jobs (with their roles, log groups, event source mappings, failure queues and rules),
the checkout saga in the orders service's stack, the notification machinery in the notifications
service's, and the alarms about all of it. Everything shared and everything stateful stays in the
parent (infra/stack.py): tables, the REST API and its methods, the user pool, network, layers,
event bus, cache, search domain, images bucket, secrets, WAF and the monitoring stack.

Built from `infra.topology.SERVICES` alone (routes, stream consumers, jobs of each service), so a
route or consumer that moves to another service moves to that service's stack. Construct ids of
the functions are the topology's (`route.function_id`, `consumer.id`, `job.id`, `Checkout<Step>`):
their logical ids in the nested templates are the same as in the single stack before.

References to the parent's resources become parameters of the nested stack; the parent's API
methods refer to the route functions through the nested stack's outputs (CDK makes both).
"""

from __future__ import annotations

from aws_cdk import NestedStack, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns

from infra.api import RestApi
from infra.checkout import SAGA_SERVICE, CheckoutSaga, grant_checkout
from infra.config import StageConfig
from infra.functions import FunctionFactory
from infra.monitoring import ServiceAlarms
from infra.notifications import NOTIFICATIONS_SERVICE, OrderNotifications, grant_publish
from infra.schedules import add_scheduled_job
from infra.streams import attach_stream_consumer
from infra.topology import NOTIFICATIONS_TABLE, Service


def check_hosts(services: tuple[Service, ...]) -> None:
    """The saga and the notification machinery each go to a named service's stack: a topology
    without that service must fail the synth, not leave them out."""
    names = {service.name for service in services}
    for host, what in ((SAGA_SERVICE, "the checkout saga (infra/checkout.py SAGA_SERVICE)"),
                       (NOTIFICATIONS_SERVICE, "the notification sender (infra/notifications.py NOTIFICATIONS_SERVICE)")):
        if host not in names:
            raise ValueError(f"{what} lives in the {host!r} service's stack, but the topology has no such service: {sorted(names)}")


def service_stack_id(service: Service) -> str:
    """"OrdersService": the construct id of a service's nested stack in the parent."""
    return f"{service.name.capitalize()}Service"


class ServiceStack(NestedStack):
    def __init__(
        self,
        scope: Stack,
        service: Service,
        config: StageConfig,
        *,
        factory: FunctionFactory,
        tables: dict[str, dynamodb.Table],
        api: RestApi,
        event_bus: events.IEventBus,
        alerts: sns.ITopic,
    ) -> None:
        super().__init__(scope, service_stack_id(service), description=f"{scope.stack_name}: the {service.name} service")
        self.service = service
        factory = factory.for_scope(self)
        self.saga: CheckoutSaga | None = None
        self.notifications: OrderNotifications | None = None
        if service.name == SAGA_SERVICE:
            self.saga = CheckoutSaga(self, "Checkout", config, factory)
        if service.name == NOTIFICATIONS_SERVICE:
            self.notifications = OrderNotifications(
                self, "Notifications", factory=factory, notifications_table=NOTIFICATIONS_TABLE, config=config,
                from_address=config.notification_from_address, bus=event_bus,
            )

        for route in service.routes:
            if not route.deployed_with(config.payment_provider):
                continue  # e.g. the sandbox's pay-for-free page: never in a stripe stage
            function = factory.create(
                route.function_id, route.handler, route.tables, route.user_pool_actions, route.search,
                images=route.images, cache=route.cache, description=route.description,
                payment_secrets=route.payment_secrets, cursors=route.cursors,
                verifies_tokens=route.verifies_tokens,
            )
            grant_checkout(function, self, route.checkout)
            # The method is the parent's (with the API): it names the function by this stack's output.
            api.add_route(route, function)
        for consumer in service.stream_consumers:
            function = factory.create(
                consumer.id, consumer.handler, consumer.tables, search=consumer.search, cache=consumer.cache,
                timeout_seconds=60, payment_secrets=consumer.payment_secrets,
            )
            grant_checkout(function, self, consumer.checkout)
            if consumer.event_bus:
                grant_publish(event_bus, function)
            attach_stream_consumer(self, consumer, function, tables[consumer.table.id], config)
        for job in service.scheduled_jobs:
            add_scheduled_job(self, job, factory)
        factory.attach_policies()

        # Last: it walks this stack for its queues and functions.
        self.alarms = ServiceAlarms(
            self, f"{service.name.capitalize()}Alarms", config, service=service, topic=alerts,
            state_machine=self.saga.state_machine if self.saga else None,
        )
