"""Alarms and the golden-signals dashboard of one stage (docs/decisions/0026-monitoring.md).

Every alarm goes to ONE SNS topic (`Alerts`, KMS-encrypted, SSL only, CloudWatch its only
publisher); the stage config's `alarm_email` (`cdk deploy -c alarm_email=...`, an operator
setting: infra/config.py) subscribes an address to it. What is alarmed is
derived, never listed by hand, so a new consumer or queue is covered the day it is added:

- every SQS queue of the app: a dead-letter queue (a queue with no DLQ of its own) when it holds
  a visible message; a work queue when its oldest message is too old;
- every stream consumer of infra/topology.py: its `IteratorAge`;
- every function, in groups (per service: its API routes, its stream consumers, its background
  jobs; the saga's steps; at most 10 functions per alarm, CloudWatch's metric-math limit): Errors
  and Throttles;
- the API: the 5xx share and the p99 latency; the checkout state machine: ExecutionsFailed and
  ExecutionsTimedOut;
- the handlers' EMF metrics (shared/metrics.py): availability reads that fell back to the table
  (degraded mode, ADR 0012) and the product cache's hit ratio (ADR 0016).

Where they live (ADR 0038): the topic, the API's and the read models' alarms and the dashboard are
the `Monitoring` nested stack's; the alarms about a service's queues, consumers, functions (and the
orders service's saga) are that service's nested stack's (`ServiceAlarms`), beside what they
watch, so no alarm refers to another stack but for the topic. The dashboard shows the services'
alarms by name (alarm names are fixed: infra/names.py), so it refers to no service stack either
(a reference from here to a service stack that refers to the topic would be a cycle).

infra/aspects.py (`EveryQueueAndStreamConsumerHasAnAlarm`) fails the synth if a queue or a
stream consumer has no alarm, however it was built.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, NestedStack, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.checkout import SAGA_SERVICE, STEPS, state_machine_arn
from infra.config import StageConfig
from infra.names import root_stack, service_resource_name
from infra.notifications import NOTIFICATIONS_SERVICE
from infra.topology import SERVICES, Service, service_of
from shared.metrics import AVAILABILITY_READS, CHECKOUT_COMPENSATIONS, NAMESPACE, PRODUCT_CACHE_READS

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
MAX_METRICS_PER_ALARM = 10  # CloudWatch: an alarm's metric math may use at most 10 metrics
PRODUCT_CACHE_MIN_READS = 100  # fewer reads in 5 minutes say nothing about the hit ratio
CHECKOUT_MIN_EXECUTIONS = 10  # likewise for the share of failed checkouts
NOTIFICATION_SENDER_ID = "NotificationSender"  # built by infra/notifications.py
# The function that emits each alarmed EMF metric (shared/metrics.py). A metric's `service`
# dimension is the emitting function's service, POWERTOOLS_SERVICE_NAME, which infra/functions.py
# derives from the handler with the same `service_of`: an alarm must name exactly that value.
EMF_EMITTERS = {
    # inventory's availability read (functions/inventory/availability.py), run by the product page
    AVAILABILITY_READS: "functions.catalog.handlers.get_product.handler",
    PRODUCT_CACHE_READS: "functions.catalog.handlers.get_product.handler",
    CHECKOUT_COMPENSATIONS: "functions.orders.consumers.saga.cancel_order",  # the saga's CancelOrder step
}


@dataclass(frozen=True)
class FunctionGroup:
    name: str
    construct_ids: tuple[str, ...]  # the functions' construct ids (children of their service's stack)


def service_function_groups(service: Service, payment_provider: str) -> list[FunctionGroup]:
    """Every function of one service's stack in a stage of this payment provider (the sandbox's
    pages exist only in sandbox stages), in groups of at most MAX_METRICS_PER_ALARM: its routes,
    its stream consumers, its background functions (scheduled jobs, the notification sender), the
    saga's steps (the orders service's)."""
    name = service.name.capitalize()
    groups = [
        FunctionGroup(f"Api{name}", tuple(route.function_id for route in service.routes if route.deployed_with(payment_provider))),
        FunctionGroup(f"{name}StreamConsumers", tuple(consumer.id for consumer in service.stream_consumers)),
        FunctionGroup(f"{name}Background", (*(job.id for job in service.scheduled_jobs),
                                            *((NOTIFICATION_SENDER_ID,) if service.name == NOTIFICATIONS_SERVICE else ()))),
        FunctionGroup("CheckoutSaga", tuple(f"Checkout{state}" for state in STEPS) if service.name == SAGA_SERVICE else ()),
    ]
    chunked = []
    for group in groups:
        ids = group.construct_ids
        if len(ids) <= MAX_METRICS_PER_ALARM:
            chunked.extend([group] if ids else [])
            continue
        for number, start in enumerate(range(0, len(ids), MAX_METRICS_PER_ALARM), start=1):
            chunked.append(FunctionGroup(f"{group.name}{number}", ids[start : start + MAX_METRICS_PER_ALARM]))
    return chunked


def function_groups(payment_provider: str) -> list[FunctionGroup]:
    """Every function of ours in a stage of this payment provider, in its service's groups."""
    return [group for service in SERVICES for group in service_function_groups(service, payment_provider)]


def alerts_topic(scope: Construct, config: StageConfig, stack_name: str, email: str | None) -> sns.Topic:
    """The one topic every alarm notifies (alarm and OK), with `email` subscribed if given (the
    address confirms the subscription from the email AWS sends).

    Its only publisher is CloudWatch, for the stack's alarms (every alarm is named
    `<stack name>-...`, infra/names.py). Two policies must let it: the key's (CloudWatch publishes
    to an encrypted topic only with a customer-managed key it may use) and the topic's. A topic
    with a policy of its own (`enforce_ssl` writes one: the SSL-only Deny) loses SNS's default
    policy, so without the Allow here CloudWatch may not publish at all."""
    key = kms.Key(scope, "AlertsKey", enable_key_rotation=True, removal_policy=config.removal_policy,
                  description=f"Encrypts the {stack_name} alerts topic")
    cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    key.grant(cloudwatch_service, "kms:Decrypt", "kms:GenerateDataKey*")
    topic = sns.Topic(scope, "Alerts", display_name=f"{stack_name} alerts", master_key=key, enforce_ssl=True)
    alarms_arn = Stack.of(scope).format_arn(service="cloudwatch", resource="alarm", resource_name=f"{stack_name}-*",
                                            arn_format=ArnFormat.COLON_RESOURCE_NAME)
    topic.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchAlarmsPublish", principals=[cloudwatch_service], actions=["sns:Publish"], resources=[topic.topic_arn],
        # this account's alarms of this stack only (no confused deputy: another account's alarm cannot name the topic)
        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}, "ArnLike": {"aws:SourceArn": alarms_arn}},
    ))
    if email:
        topic.add_subscription(subscriptions.EmailSubscription(email))
    return topic


def emf_metric(name: str, statistic: str = "Sum", **dimensions: str) -> cloudwatch.Metric:
    """A metric the handlers emit through shared/metrics.py (namespace Shop, dimension service)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE, metric_name=name, statistic=statistic, period=FIVE_MINUTES,
        dimensions_map={"service": service_of(EMF_EMITTERS[name]), **dimensions},
    )


class AlarmMaker:
    """Builds alarms under `scope`, each named `<name_prefix>-<construct id>` and notifying `topic`."""

    def __init__(self, scope: Construct, config: StageConfig, topic: sns.ITopic, name_prefix: str) -> None:
        self.scope = scope
        self.config = config
        self.name_prefix = name_prefix
        self.alarms: list[cloudwatch.Alarm] = []
        self._action = actions.SnsAction(topic)

    def alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 1, datapoints_to_alarm: int | None = None,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self.scope, construct_id,
            alarm_name=f"{self.name_prefix}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            # no data = nothing happened (no failures, no traffic): not an alarm
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def queue_alarm(self, queue: sqs.Queue) -> cloudwatch.Alarm:
        name = _construct_name(queue)
        if queue.dead_letter_queue is None:  # every queue without a DLQ of its own IS one (infra/streams.py)
            return self.alarm(
                f"{name}HasMessages",
                queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, statistic="Maximum"), 0,
                f"{name} holds failed work: read it, fix the cause, re-drive it (README, Operations).",
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
        return self.alarm(
            f"{name}Backlog",
            queue.metric_approximate_age_of_oldest_message(period=ONE_MINUTE, statistic="Maximum"),
            self.config.alarm_notification_age_seconds,
            f"{name}'s oldest message is older than {self.config.alarm_notification_age_seconds} s: its consumer is not keeping up.",
            evaluation_periods=5, datapoints_to_alarm=3,
        )

    def iterator_age_alarm(self, consumer_id: str, function: lambda_.Function) -> cloudwatch.Alarm:
        limit = self.config.alarm_iterator_age_seconds
        return self.alarm(
            f"{consumer_id}IteratorAge",
            function.metric("IteratorAge", statistic="Maximum", period=ONE_MINUTE), limit * 1000,
            f"{consumer_id} is more than {limit} s behind its stream (failing batches being retried, or too slow).",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=5, datapoints_to_alarm=3,
        )

    def function_group_alarms(self, group: FunctionGroup, functions: list[lambda_.Function]) -> list[cloudwatch.Alarm]:
        def total(metric_of) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression="SUM(METRICS())", label=f"{group.name} {metric_of.__name__.removeprefix('metric_')}",
                using_metrics={f"f{number}": metric_of(function) for number, function in enumerate(functions)},
                period=FIVE_MINUTES,
            )

        def metric_errors(function: lambda_.Function) -> cloudwatch.Metric:
            return function.metric_errors(period=FIVE_MINUTES, statistic="Sum")

        def metric_throttles(function: lambda_.Function) -> cloudwatch.Metric:
            return function.metric_throttles(period=FIVE_MINUTES, statistic="Sum")

        ids = ", ".join(group.construct_ids)
        return [
            self.alarm(f"{group.name}Errors", total(metric_errors), self.config.alarm_lambda_errors,
                       f"Unhandled errors (or timeouts) in {group.name}: {ids}."),
            self.alarm(f"{group.name}Throttles", total(metric_throttles), 1,
                       f"Invocations throttled (concurrency exhausted, or a bulkhead's reserve full) in {group.name}: {ids}."),
        ]

    def checkout_alarms(self, state_machine: sfn.IStateMachine) -> list[cloudwatch.Alarm]:
        config = self.config
        return [
            # Every refused checkout (out of stock, price changed, payment declined) ends in the
            # Compensated Fail state too (ADR 0014): the count alone would page on business as usual.
            self.alarm("CheckoutExecutionsFailed", checkout_failed_share(state_machine), config.alarm_checkout_failed_ratio,
                       f"More than {config.alarm_checkout_failed_ratio:.0%} of checkout executions failed "
                       f"(with at least {CHECKOUT_MIN_EXECUTIONS} started in 5 minutes).",
                       comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=2, datapoints_to_alarm=2),
            self.alarm("CheckoutStepsFailed", emf_metric(CHECKOUT_COMPENSATIONS, Cause="failed"), 1,
                       "A checkout was undone because a saga step failed all its retries (not a refusal): see the "
                       "execution's history and the CheckoutSaga error alarms."),
            self.alarm("CheckoutExecutionsTimedOut", state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"), 1,
                       "A checkout saga execution ran past the state machine's timeout."),
        ]


class ServiceAlarms(Construct):
    """The alarms about one service's stack, built last in it (it walks the stack): every queue,
    every stream consumer's lag, every function group, and the saga where the stack has it.
    Named `<parent stack>-<service>-<id>` (infra/names.py)."""

    def __init__(
        self, scope: Construct, construct_id: str, config: StageConfig, *, service: Service, topic: sns.ITopic,
        state_machine: sfn.IStateMachine | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stack = Stack.of(self)
        self.maker = AlarmMaker(self, config, topic, service_resource_name(self, service.name, "").rstrip("-"))
        self.queue_alarms = [self.maker.queue_alarm(queue) for queue in _queues(self.stack)]
        self.dead_letter_alarms = [alarm for queue, alarm in zip(_queues(self.stack), self.queue_alarms, strict=True)
                                   if queue.dead_letter_queue is None]
        self.iterator_age_alarms = [self.maker.iterator_age_alarm(consumer.id, _function(self.stack, consumer.id))
                                    for consumer in service.stream_consumers]
        self.function_alarms = [
            alarm for group in service_function_groups(service, config.payment_provider)
            for alarm in self.maker.function_group_alarms(group, [_function(self.stack, i) for i in group.construct_ids])
        ]
        self.state_machine_alarms = self.maker.checkout_alarms(state_machine) if state_machine is not None else []

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        return self.maker.alarms


class MonitoringStack(NestedStack):
    """The topic, the API's and read models' alarms and the dashboard in a nested stack (the
    services' own alarms are in their stacks, ADR 0038). Built first (the services' alarms need
    the topic), finished last with `watch()`."""

    def __init__(self, scope: Stack, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id, description=f"{scope.stack_name}: alarms and dashboard")
        self.monitoring = Monitoring(self, "Monitoring", config, watched=scope)

    def watch(self, *, api: apigw.RestApi, services: list[ServiceAlarms]) -> None:
        self.monitoring.watch(api=api, services=services)


class Monitoring(Construct):
    """The alerts topic now; `watch()` adds the API and read-model alarms and the dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: StageConfig,
        *,
        watched: Stack | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.stack = watched or root_stack(self)
        self.topic = alerts_topic(self, config, self.stack.stack_name, config.alarm_email)
        self.maker = AlarmMaker(self, config, self.topic, self.stack.stack_name)

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        return self.maker.alarms

    def watch(self, *, api: apigw.RestApi, services: list[ServiceAlarms]) -> None:
        self.api_alarms = self._api_alarms(api)
        self.read_model_alarms = self._read_model_alarms()
        self.dashboard = self._dashboard(api, services)

    # -- alarms -------------------------------------------------------------------------------

    def _api_alarms(self, api: apigw.RestApi) -> list[cloudwatch.Alarm]:
        return [
            self.maker.alarm(
                "Api5xxRate", api.metric_server_error(period=FIVE_MINUTES, statistic="Average"), self.config.alarm_api_5xx_rate,
                f"More than {self.config.alarm_api_5xx_rate:.0%} of API requests answered 5xx.",
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=2, datapoints_to_alarm=2,
            ),
            self.maker.alarm(
                "ApiLatencyP99", api.metric_latency(period=FIVE_MINUTES, statistic="p99"), self.config.alarm_api_p99_latency_ms,
                f"The API's p99 latency is over {self.config.alarm_api_p99_latency_ms} ms.",
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=3, datapoints_to_alarm=3,
            ),
        ]

    def _read_model_alarms(self) -> list[cloudwatch.Alarm]:
        return [
            self.maker.alarm(
                "AvailabilityDegraded", availability_degraded_ratio(), self.config.alarm_availability_degraded_ratio,
                "Product pages read stock from the table instead of the availability cache (the projector is behind, "
                "or the cache is down): slower, never wrong (ADR 0012).",
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=3, datapoints_to_alarm=3,
            ),
            self.maker.alarm(
                "ProductCacheHitRatioLow", product_cache_hit_ratio(), self.config.alarm_product_cache_hit_ratio,
                f"The product cache answers under {self.config.alarm_product_cache_hit_ratio:.0%} of product pages "
                "(target 95%; ADR 0016).",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, evaluation_periods=3, datapoints_to_alarm=3,
            ),
        ]

    # -- dashboard ------------------------------------------------------------------------------

    def _by_name(self, alarm: cloudwatch.Alarm) -> cloudwatch.IAlarm:
        """A service's alarm as seen from here: by its (fixed) name, not by a reference to its stack."""
        construct_id = f"Watched{Stack.of(alarm).node.id}{alarm.node.id}"
        found = self.node.try_find_child(construct_id)
        return found or cloudwatch.Alarm.from_alarm_name(self, construct_id, alarm.node.default_child.alarm_name)

    def _dashboard(self, api: apigw.RestApi, services: list[ServiceAlarms]) -> cloudwatch.Dashboard:
        """The golden signals: traffic, errors, latency, saturation; then checkout and the read models."""
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{self.stack.stack_name}-golden-signals")
        # The saga's state machine by its fixed name (infra/checkout.py), from here as from any stack.
        state_machine = sfn.StateMachine.from_state_machine_arn(self, "CheckoutStateMachine", state_machine_arn(self))
        alarms = [*self.alarms, *(self._by_name(alarm) for service in services for alarm in service.alarms)]
        dashboard.add_widgets(
            cloudwatch.TextWidget(markdown=f"# {self.stack.stack_name}: golden signals\nAlarms go to the `Alerts` topic.",
                                  width=24, height=2),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Traffic: API requests", left=[api.metric_count(period=ONE_MINUTE)], width=6),
            cloudwatch.GraphWidget(title="Errors: API 4xx / 5xx", left=[api.metric_client_error(period=ONE_MINUTE),
                                                                      api.metric_server_error(period=ONE_MINUTE)], width=6),
            cloudwatch.GraphWidget(title="Latency: API p50 / p99 (ms)", left=[api.metric_latency(period=ONE_MINUTE, statistic="p50"),
                                                                             api.metric_latency(period=ONE_MINUTE, statistic="p99")], width=6),
            cloudwatch.GraphWidget(title="Saturation: Lambda concurrency / throttles", left=[
                cloudwatch.Metric(namespace="AWS/Lambda", metric_name="ConcurrentExecutions", statistic="Maximum", period=ONE_MINUTE),
            ], right=[cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Throttles", statistic="Sum", period=ONE_MINUTE)], width=6),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Checkout executions", left=[
                state_machine.metric_started(period=FIVE_MINUTES), state_machine.metric_succeeded(period=FIVE_MINUTES),
                state_machine.metric_failed(period=FIVE_MINUTES), state_machine.metric_timed_out(period=FIVE_MINUTES),
            ], width=8),
            cloudwatch.GraphWidget(title="Product cache hit ratio (target 0.95)", left=[product_cache_hit_ratio()],
                                   left_y_axis=cloudwatch.YAxisProps(min=0, max=1), width=8),
            cloudwatch.GraphWidget(title="Availability reads from the table (degraded share)", left=[availability_degraded_ratio()],
                                   left_y_axis=cloudwatch.YAxisProps(min=0, max=1), width=8),
        )
        # One graph per stream consumer: its IteratorAge alarm's metric against the threshold.
        lag = [cloudwatch.AlarmWidget(alarm=self._by_name(alarm), title=f"{alarm.node.id.removesuffix('IteratorAge')}: iterator age (ms)",
                                      width=6, height=5)
               for service in services for alarm in service.iterator_age_alarms]
        for start in range(0, len(lag), 4):
            dashboard.add_widgets(*lag[start : start + 4])
        dead_letters = [self._by_name(alarm) for service in services for alarm in service.dead_letter_alarms]
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Dead-letter queues: visible messages", alarms=dead_letters,
                                                           width=24, height=max(2, 1 + len(dead_letters) // 4)))
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24,
                                                           height=max(3, 1 + len(alarms) // 4)))
        return dashboard


def availability_degraded_ratio() -> cloudwatch.MathExpression:
    return _ratio("degraded", {"degraded": emf_metric(AVAILABILITY_READS, Mode="degraded"),
                               "hit": emf_metric(AVAILABILITY_READS, Mode="hit")}, "Availability degraded share")


def checkout_failed_share(state_machine: sfn.IStateMachine) -> cloudwatch.MathExpression:
    metrics = {"failed": state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
               "started": state_machine.metric_started(period=FIVE_MINUTES, statistic="Sum")}
    expression = f"IF(FILL(started, 0) >= {CHECKOUT_MIN_EXECUTIONS}, FILL(failed, 0) / FILL(started, 0), 0)"
    return cloudwatch.MathExpression(expression=expression, using_metrics=metrics, period=FIVE_MINUTES, label="Checkout failed share")


def product_cache_hit_ratio() -> cloudwatch.MathExpression:
    metrics = {"hit": emf_metric(PRODUCT_CACHE_READS, Result="hit"), "miss": emf_metric(PRODUCT_CACHE_READS, Result="miss")}
    # Too few reads say nothing: report 1 (no alarm) until there are PRODUCT_CACHE_MIN_READS.
    expression = (f"IF((FILL(hit, 0) + FILL(miss, 0)) >= {PRODUCT_CACHE_MIN_READS}, "
                  "FILL(hit, 0) / (FILL(hit, 0) + FILL(miss, 0)), 1)")
    return cloudwatch.MathExpression(expression=expression, using_metrics=metrics, period=FIVE_MINUTES, label="Product cache hit ratio")


def _ratio(part: str, metrics: dict[str, cloudwatch.Metric], label: str) -> cloudwatch.MathExpression:
    total = " + ".join(f"FILL({name}, 0)" for name in metrics)
    return cloudwatch.MathExpression(expression=f"IF(({total}) > 0, FILL({part}, 0) / ({total}), 0)",
                                     using_metrics=metrics, period=FIVE_MINUTES, label=label)


def _queues(stack: Stack) -> list[sqs.Queue]:
    return [node for node in stack.node.find_all() if isinstance(node, sqs.Queue) and Stack.of(node) is stack]


def _function(stack: Stack, construct_id: str) -> lambda_.Function:
    function = stack.node.try_find_child(construct_id)
    if not isinstance(function, lambda_.Function):
        raise ValueError(f"monitoring: no function {construct_id!r} in {stack.node.path} (renamed in the topology?)")
    return function


def _construct_name(construct: Construct) -> str:
    """A readable unique name: the construct's path below its stack, without separators."""
    scopes = construct.node.scopes
    below = scopes[scopes.index(Stack.of(construct)) + 1 :]
    return "".join(scope.node.id for scope in below if scope.node.id != "Resource")

