"""infra/monitoring.py in the real app's templates: an alarm for every queue, stream consumer and
function group, the API and the checkout saga, all on one SNS topic; a dashboard; the prod
bulkhead. Expectations come from the topology and the stage config, not from a list here."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from infra.config import stage_config
from infra.handlers import deployed_handlers
from infra.monitoring import MAX_METRICS_PER_ALARM, alerts_topic, function_groups
from infra.topology import all_stream_consumers
from shared.metrics import AVAILABILITY_READS, CHECKOUT_COMPENSATIONS, PRODUCT_CACHE_READS

from .conftest import Synth

pytestmark = pytest.mark.slow


class Monitored:
    """Every alarm of the app, the monitoring stack's and each service stack's (ADR 0038), read from
    the merged template (conftest.py): there a nested stack's parameter is already what the parent
    passes in (the Ref/GetAtt of the watched resource, the alerts topic's Ref)."""

    def __init__(self, synth: Synth) -> None:
        self.synth = synth
        self.resources = synth.resources

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == cfn_type}

    @property
    def alarms(self) -> dict[str, dict[str, Any]]:
        return {logical_id: r["Properties"] for logical_id, r in self.of_type("AWS::CloudWatch::Alarm").items()}

    def metrics_of(self, alarm: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(metric name, {dimension: watched value}) of an alarm's metric or of its metric math."""
        found = []
        if "MetricName" in alarm:
            found.append((alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}))
        for query in alarm.get("Metrics", []):
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                found.append((metric["MetricName"], {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}))
        return found

    def alarms_watching(self, metric_name: str, **dimensions: Any) -> list[str]:
        return [
            logical_id for logical_id, alarm in self.alarms.items()
            if any(name == metric_name and all(dims.get(k) == v for k, v in dimensions.items()) for name, dims in self.metrics_of(alarm))
        ]


@pytest.fixture(scope="module")
def monitored(prod: Synth) -> Monitored:
    return Monitored(prod)


def _function_ref(synth: Synth, construct_id: str) -> dict[str, str]:
    return {"Ref": synth.logical_id(construct_id)}


def test_every_alarm_notifies_the_one_encrypted_alerts_topic(monitored: Monitored) -> None:
    # GIVEN the prod app's alarms (the monitoring stack's and every service stack's)
    [topic_id] = monitored.of_type("AWS::SNS::Topic")
    topic = monitored.resources[topic_id]["Properties"]
    # THEN there is one topic, encrypted with a rotated key CloudWatch may use
    [key] = monitored.of_type("AWS::KMS::Key").values()
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [next(iter(monitored.of_type("AWS::KMS::Key"))), "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    principals = [s.get("Principal", {}).get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in principals
    # AND every alarm tells it when it fires and when it recovers
    assert len(monitored.alarms) > 30
    for logical_id, alarm in monitored.alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], logical_id
        assert alarm["OKActions"] == [{"Ref": topic_id}], logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
    # AND operators find the topic in the stack's outputs
    assert "AlertsTopicArn" in monitored.synth.template["Outputs"]


def _cloudwatch_may_publish(resources: dict[str, dict[str, Any]], topic_id: str, stack_name: str) -> None:
    """The topic's policy keeps the SSL-only Deny and lets CloudWatch publish for this account's
    alarms of this stack (and nobody else); the key's policy lets CloudWatch use the key."""
    [policy] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert policy["Topics"] == [{"Ref": topic_id}]
    statements = policy["PolicyDocument"]["Statement"]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == "*"
    [allow] = [s for s in statements if s["Effect"] == "Allow"]  # CloudWatch is the topic's only publisher
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
        f":alarm:{stack_name}-*",
    ]]}
    [key] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    [for_cloudwatch] = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert for_cloudwatch["Effect"] == "Allow"
    assert set(for_cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_cloudwatch_may_publish_to_the_encrypted_topic_for_the_stacks_alarms_only() -> None:
    # GIVEN the alerts topic on its own (SSL only, KMS-encrypted)
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-alerts-"))
    stack = cdk.Stack(app, "AlertsTest")
    topic = alerts_topic(stack, stage_config("dev"), "Shop-dev", None)
    # THEN CloudWatch may publish to it and use its key, scoped to the account's Shop-dev-* alarms
    resources = assertions.Template.from_stack(stack).to_json()["Resources"]
    _cloudwatch_may_publish(resources, stack.get_logical_id(topic.node.default_child), "Shop-dev")


def test_in_every_stage_the_alerts_topic_and_key_let_cloudwatch_publish_every_alarm(synth: Synth) -> None:
    # GIVEN the stage's app: its one topic, and every alarm (the monitoring stack's and the services')
    [topic_id] = synth.of_type("AWS::SNS::Topic")
    stack_name = synth.stack.stack_name
    # THEN the topic's and the key's policies let CloudWatch publish for the stack's alarms
    _cloudwatch_may_publish(synth.resources, topic_id, stack_name)
    # AND every alarm's name is one the topic policy's aws:SourceArn covers
    names = [r["Properties"]["AlarmName"] for r in synth.of_type("AWS::CloudWatch::Alarm").values()]
    assert names and all(name.startswith(f"{stack_name}-") for name in names)


def test_every_queue_has_an_alarm_and_every_dead_letter_queue_alarms_on_one_visible_message(monitored: Monitored) -> None:
    queues = monitored.synth.of_type("AWS::SQS::Queue")
    assert len(queues) >= 10  # stream, schedule and notification failure queues, and the notification queue
    dead_letter_queues = {logical_id for logical_id, q in queues.items() if "RedrivePolicy" not in q["Properties"]}
    for logical_id in queues:
        name = {"Fn::GetAtt": [logical_id, "QueueName"]}
        if logical_id in dead_letter_queues:
            [alarm] = monitored.alarms_watching("ApproximateNumberOfMessagesVisible", QueueName=name)
            assert monitored.alarms[alarm]["Threshold"] == 0
            assert monitored.alarms[alarm]["ComparisonOperator"] == "GreaterThanThreshold"
            assert monitored.alarms[alarm]["Statistic"] == "Maximum"
        else:  # a work queue: its backlog's age
            assert monitored.alarms_watching("ApproximateAgeOfOldestMessage", QueueName=name), logical_id


def test_every_stream_consumer_of_the_topology_has_an_iterator_age_alarm(monitored: Monitored) -> None:
    threshold_ms = stage_config("prod").alarm_iterator_age_seconds * 1000
    for consumer in all_stream_consumers():
        [alarm] = monitored.alarms_watching("IteratorAge", FunctionName=_function_ref(monitored.synth, consumer.id))
        assert monitored.alarms[alarm]["Threshold"] == threshold_ms, consumer.id


def test_every_function_is_in_exactly_one_group_with_an_errors_and_a_throttles_alarm(monitored: Monitored) -> None:
    synth = monitored.synth
    ours = {logical_id for logical_id, f in synth.of_type("AWS::Lambda::Function").items()
            if f["Properties"].get("Handler") in {handler for handler, _ in deployed_handlers()}}
    grouped = [construct_id for group in function_groups(stage_config("prod").payment_provider) for construct_id in group.construct_ids]
    assert len(grouped) == len(set(grouped))
    assert {synth.logical_id(construct_id) for construct_id in grouped} == ours
    for group in function_groups(stage_config("prod").payment_provider):
        assert len(group.construct_ids) <= MAX_METRICS_PER_ALARM
        for metric in ("Errors", "Throttles"):
            for construct_id in group.construct_ids:
                watching = monitored.alarms_watching(metric, FunctionName=_function_ref(synth, construct_id))
                assert len(watching) == 1, (metric, construct_id, watching)


def test_the_api_and_the_checkout_state_machine_are_alarmed(monitored: Monitored) -> None:
    synth = monitored.synth
    [api] = synth.of_type("AWS::ApiGateway::RestApi").values()
    api_name = api["Properties"]["Name"]
    [five_xx] = monitored.alarms_watching("5XXError", ApiName=api_name)
    assert monitored.alarms[five_xx]["Statistic"] == "Average"  # 5XXError's average is the share of 5xx answers
    assert monitored.alarms[five_xx]["Threshold"] == stage_config("prod").alarm_api_5xx_rate
    [latency] = monitored.alarms_watching("Latency", ApiName=api_name)
    assert monitored.alarms[latency]["ExtendedStatistic"] == "p99"
    [machine] = synth.of_type("AWS::StepFunctions::StateMachine")
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert len(monitored.alarms_watching(metric, StateMachineArn={"Ref": machine})) == 1, metric
    # refusals end as failed executions too (ADR 0014): failures are alarmed as a share of those started
    [failed] = monitored.alarms_watching("ExecutionsFailed", StateMachineArn={"Ref": machine})
    assert monitored.alarms_watching("ExecutionsStarted", StateMachineArn={"Ref": machine}) == [failed]
    # and a checkout undone because a step failed all its retries, from the saga's own metric
    assert len(monitored.alarms_watching(CHECKOUT_COMPENSATIONS, Cause="failed", service="orders")) == 1  # the saga's service


def test_the_saga_counts_as_refusals_exactly_the_errors_the_state_machine_never_retries() -> None:
    from functions.orders.consumers.saga import BUSINESS_OUTCOMES
    from infra.checkout import NOT_RETRIED

    assert BUSINESS_OUTCOMES == set(NOT_RETRIED)


def test_the_read_models_degraded_mode_and_the_product_cache_hit_ratio_are_alarmed_from_the_handlers_metrics(monitored: Monitored) -> None:
    # the names and dimensions shared/metrics.py writes (functions/inventory/availability.py, get_product.py),
    # both from the catalog's product page: service catalog
    assert monitored.alarms_watching(AVAILABILITY_READS, Mode="degraded", service="catalog")
    assert monitored.alarms_watching(AVAILABILITY_READS, Mode="hit", service="catalog")
    [ratio] = monitored.alarms_watching(PRODUCT_CACHE_READS, Result="hit", service="catalog")
    assert monitored.alarms_watching(PRODUCT_CACHE_READS, Result="miss", service="catalog") == [ratio]
    assert monitored.alarms[ratio]["ComparisonOperator"] == "LessThanThreshold"
    assert monitored.alarms[ratio]["Threshold"] == stage_config("prod").alarm_product_cache_hit_ratio


def test_a_golden_signals_dashboard_shows_traffic_errors_latency_saturation_and_the_alarms(monitored: Monitored) -> None:
    [dashboard] = monitored.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Traffic", "Errors", "Latency", "Saturation", "Checkout executions", "Product cache hit ratio",
                  "iterator age", "Dead-letter queues"):
        assert title in body, title
    assert "alarm" in body and "ConcurrentExecutions" in body


def test_prod_reserves_concurrency_for_the_checkout_path_and_dev_shares_the_pool(prod: Synth, dev: Synth) -> None:
    reserves = dict(stage_config("prod").reserved_concurrency)
    assert {"OrdersCreateOrder", "CartGetCart", "CheckoutValidateCart", "PaymentsWebhook"} <= set(reserves)
    for construct_id, reserve in reserves.items():
        assert prod.resources[prod.logical_id(construct_id)]["Properties"]["ReservedConcurrentExecutions"] == reserve
    # Lambda keeps 100 of the account's default 1,000 unreserved
    assert sum(reserves.values()) <= 1000 - 100
    assert not [f for f in dev.of_type("AWS::Lambda::Function").values() if "ReservedConcurrentExecutions" in f["Properties"]]


@pytest.mark.parametrize("email", ["ops@example.com", None])
def test_an_alarm_email_in_the_config_subscribes_to_the_topic(email: str | None) -> None:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-alerts-"))
    stack = cdk.Stack(app, "AlertsTest")
    alerts_topic(stack, stage_config("dev"), "Shop-dev", email)
    subscriptions = assertions.Template.from_stack(stack).find_resources("AWS::SNS::Subscription")
    if email:
        [subscription] = subscriptions.values()
        assert subscription["Properties"]["Protocol"] == "email"
        assert subscription["Properties"]["Endpoint"] == email
    else:
        assert subscriptions == {}


def test_each_service_stack_alarms_on_its_own_resources_and_the_monitoring_stack_refers_to_no_service(prod: Synth) -> None:
    # GIVEN each service's nested template as synthesized (ADR 0038), and the monitoring stack's
    from infra.topology import SERVICES

    def template_of(nested: cdk.NestedStack) -> dict[str, Any]:
        return json.loads((prod.assembly_dir / nested.template_file).read_text())

    for service in SERVICES:
        template = template_of(prod.stack.services[service.name])
        resources = template["Resources"]
        alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        watched = json.dumps(alarms)
        # THEN its alarms are named after the service and watch resources of the same template:
        # every queue (by its QueueName) and every stream consumer's lag
        assert alarms, service.name
        assert all(alarm["AlarmName"].startswith(f"{prod.stack.stack_name}-{service.name}-") for alarm in alarms)
        for logical_id in (lid for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"):
            assert json.dumps({"Fn::GetAtt": [logical_id, "QueueName"]}) in watched, (service.name, logical_id)
        for consumer in service.stream_consumers:
            [function_id] = [lid for lid, r in resources.items()
                             if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == consumer.handler]
            assert json.dumps({"Ref": function_id}) in watched, consumer.id
    # AND the monitoring stack (topic, API alarms, dashboard) takes no parameter: it names the
    # services' alarms and the saga by their fixed names, never by a reference into their stacks
    monitoring = template_of(prod.stack.monitoring_stack)
    assert monitoring.get("Parameters", {}) == {}
