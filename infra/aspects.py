"""Checks that run on every synth: an asynchronous consumer without an on-failure destination
is an error, because its failures would be dropped silently. Scheduled work is covered both
ways it can be built: EventBridge rules with a schedule (infra/schedules.py) and EventBridge
Scheduler schedules. A function in the VPC that uses a service or host it has no route to is an
error too (VpcFunctionsHaveRoutes, ADR 0049)."""

from __future__ import annotations

import re
from typing import Any

import jsii
from aws_cdk import Annotations, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

ASYNC_PRINCIPALS = ("events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com", "scheduler.amazonaws.com")


def _has_on_failure(config: Any) -> bool:
    config = config or {}
    return bool(config.get("onFailure") or config.get("OnFailure"))


@jsii.implements(IAspect)
class AsyncConsumersHaveFailureDestination:
    """Stream/queue mappings need OnFailure (streams) or a source-queue redrive policy (SQS);
    async-invoked functions need an EventInvokeConfig OnFailure (or a function DLQ); rule
    targets need a DLQ. An EventBridge -> Lambda pair needs both: the target DLQ catches events
    that could not be delivered, the function's on-failure destination the invocations that
    failed after Lambda's asynchronous retries. The same holds for an EventBridge Scheduler
    schedule, which invokes through a role (no Lambda permission names its function), so its
    target function is checked from the schedule itself."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, lambda_.CfnEventSourceMapping):
            self._check_mapping(node)
        elif isinstance(node, events.CfnRule):
            self._check_rule(node)
        elif isinstance(node, scheduler.CfnSchedule):
            self._check_schedule(node)
        elif isinstance(node, lambda_.CfnPermission):
            self._check_async_invoke(node)

    def _check_mapping(self, mapping: lambda_.CfnEventSourceMapping) -> None:
        stack = Stack.of(mapping)
        source = stack.resolve(mapping.event_source_arn)
        if isinstance(source, str) and ":sqs:" in source:
            Annotations.of(mapping).add_warning_v2(
                "shop:imported-queue-dlq",
                f"SQS event source {source} is imported: make sure it has a redrive policy (DLQ).",
            )
            return
        queue = self._resource_for(stack, source, sqs.CfnQueue)
        if queue is not None:
            if not stack.resolve(queue.redrive_policy):
                Annotations.of(mapping).add_error("SQS event source queue has no redrive policy (DLQ).")
            return
        if not _has_on_failure(stack.resolve(mapping.destination_config)):
            Annotations.of(mapping).add_error("Stream event source mapping has no on-failure destination (DLQ).")

    @staticmethod
    def _resource_for(stack: Stack, reference: object, kind: type) -> Any:
        """The resource of `kind` in `stack` that a resolved {"Ref": id} / {"Fn::GetAtt": [id, ...]} names."""
        if not isinstance(reference, dict):
            return None
        if "Fn::GetAtt" in reference:
            logical_id = reference["Fn::GetAtt"][0]
        elif "Ref" in reference:
            logical_id = reference["Ref"]
        else:
            return None
        for child in stack.node.find_all():
            # logical_id (not stack.get_logical_id) so that overridden logical ids match too
            if isinstance(child, kind) and stack.resolve(child.logical_id) == logical_id:
                return child
        return None

    def _check_rule(self, rule: events.CfnRule) -> None:
        for target in Stack.of(rule).resolve(rule.targets) or []:
            if not (target.get("deadLetterConfig") or target.get("DeadLetterConfig")):
                Annotations.of(rule).add_error(f"EventBridge target {target.get('id') or target.get('Id')} has no dead-letter queue.")

    def _check_schedule(self, schedule: scheduler.CfnSchedule) -> None:
        stack = Stack.of(schedule)
        target = stack.resolve(schedule.target) or {}
        dead_letter = target.get("deadLetterConfig") or target.get("DeadLetterConfig") or {}
        if not (dead_letter.get("arn") or dead_letter.get("Arn")):
            Annotations.of(schedule).add_error("EventBridge Scheduler schedule target has no dead-letter queue.")
        function = self._resource_for(stack, target.get("arn") or target.get("Arn"), lambda_.CfnFunction)
        if function is not None:
            self._require_failure_destination(stack, function, "scheduler.amazonaws.com")

    def _check_async_invoke(self, permission: lambda_.CfnPermission) -> None:
        stack = Stack.of(permission)
        principal = stack.resolve(permission.principal)
        if principal not in ASYNC_PRINCIPALS:
            return
        # The permission is not always a child of its function (EventBridge targets put it under
        # the rule, S3 notifications under the bucket): find the function from FunctionName.
        function = self._resource_for(stack, stack.resolve(permission.function_name), lambda_.CfnFunction)
        if function is None:
            return  # an imported function, an alias or a version: not checked here
        self._require_failure_destination(stack, function, principal)

    def _require_failure_destination(self, stack: Stack, function: lambda_.CfnFunction, principal: str) -> None:
        if self._has_failure_destination(stack, function):
            return
        owner = function.node.scope if isinstance(function.node.scope, lambda_.Function) else function
        Annotations.of(owner).add_error(f"{owner.node.id} is invoked asynchronously by {principal} without an on-failure destination.")

    @staticmethod
    def _has_failure_destination(stack: Stack, function: lambda_.CfnFunction) -> bool:
        dead_letter = stack.resolve(function.dead_letter_config) or {}
        if dead_letter.get("targetArn") or dead_letter.get("TargetArn"):
            return True
        function_ref = {"Ref": stack.resolve(function.logical_id)}
        for child in stack.node.find_all():
            if (
                isinstance(child, lambda_.CfnEventInvokeConfig)
                and stack.resolve(child.function_name) == function_ref
                and _has_on_failure(stack.resolve(child.destination_config))
            ):
                return True
        return False


def _alarmed_dimensions(stack: Stack) -> list[tuple[str, str, Any]]:
    """(metric name, dimension name, dimension value) of every metric any alarm of the app
    watches, alone or inside its metric math. The alarms may sit in a nested stack
    (infra/monitoring.py): before synthesis turns references into parameters, a reference
    resolves to the watched resource's own Ref/GetAtt in any stack."""
    from aws_cdk import aws_cloudwatch as cloudwatch

    found = []
    for child in stack.node.root.node.find_all():
        if not isinstance(child, cloudwatch.CfnAlarm):
            continue
        stack = Stack.of(child)
        metrics = [{"metricName": child.metric_name, "dimensions": child.dimensions}]
        for query in stack.resolve(child.metrics) or []:
            stat = query.get("metricStat") or {}
            metric = stat.get("metric") or {}
            metrics.append({"metricName": metric.get("metricName"), "dimensions": metric.get("dimensions")})
        for metric in metrics:
            for dimension in stack.resolve(metric["dimensions"]) or []:
                found.append((stack.resolve(metric["metricName"]), dimension.get("name"), dimension.get("value")))
    return found


@jsii.implements(IAspect)
class EveryQueueAndStreamConsumerHasAnAlarm:
    """Failed work must be seen, not only kept: every SQS queue needs an alarm on one of its
    metrics (a dead-letter queue: visible messages, infra/monitoring.py), and every stream event
    source mapping an IteratorAge alarm on its function. Add this aspect after the stack is built."""

    def __init__(self) -> None:
        self._alarmed: dict[str, list[tuple[str, str, Any]]] = {}

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, sqs.CfnQueue):
            stack = Stack.of(node)
            name = {"Fn::GetAtt": [stack.resolve(node.logical_id), "QueueName"]}
            if not any(dimension == "QueueName" and value == name for _, dimension, value in self._alarms(stack)):
                Annotations.of(node).add_error("SQS queue has no CloudWatch alarm (infra/monitoring.py).")
        elif isinstance(node, lambda_.CfnEventSourceMapping):
            stack = Stack.of(node)
            source = stack.resolve(node.event_source_arn)
            if isinstance(source, str) and ":sqs:" in source or AsyncConsumersHaveFailureDestination._resource_for(stack, source, sqs.CfnQueue):
                return  # a queue consumer: its queue's alarm covers it
            function = stack.resolve(node.function_name)
            if not any(metric == "IteratorAge" and dimension == "FunctionName" and value == function
                       for metric, dimension, value in self._alarms(stack)):
                Annotations.of(node).add_error("Stream consumer has no IteratorAge alarm (infra/monitoring.py).")

    def _alarms(self, stack: Stack) -> list[tuple[str, str, Any]]:
        key = stack.node.root.node.addr
        if key not in self._alarmed:
            self._alarmed[key] = _alarmed_dimensions(stack)
        return self._alarmed[key]


# Construct metadata (not in the template) of a function: the hosts it reaches besides the AWS
# APIs of its grants (infra/functions.py: functions that verify tokens fetch Cognito's JWKS).
USES_HOSTS_METADATA = "shop:uses-hosts"
COGNITO_JWKS_HOST = "cognito-idp JWKS (https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json)"
# Hosts that no VPC endpoint is known to serve: only a NAT route reaches them. Cognito's PrivateLink
# endpoint serves the user pools API; that it serves the JWKS document is not documented (ADR 0049).
NAT_ONLY_HOSTS = frozenset({COGNITO_JWKS_HOST})
# IAM action prefixes whose calls need no route from the function's subnets: the Lambda service
# itself does them (logs, X-Ray segments through its daemon, the VPC's network interfaces), or
# another service on the function's behalf (KMS for an encrypted table or secret), or they go to
# a resource inside the VPC (the OpenSearch domain's es:ESHttp*).
NO_ROUTE_NEEDED = frozenset({"logs", "xray", "ec2", "kms", "es"})
# IAM action prefix -> the VPC endpoint's service name (com.amazonaws.<region>.<name>), when they differ.
ENDPOINT_OF_PREFIX = {"ses": "email", "cloudwatch": "monitoring"}
_ENDPOINT_NAME = re.compile(r"^com\.amazonaws\.[^.]+\.(.+)$")


def _joined(value: Any) -> str:
    """A resolved service name ({"Fn::Join": ["", [...]]} or a string) with tokens as "{}"."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_joined(part) for part in parts)
    return "{}"


def endpoint_services(root: IConstruct) -> set[str]:
    """The services the app's VPC endpoints serve ("dynamodb", "secretsmanager", ...)."""
    found = set()
    for child in root.node.find_all():
        if isinstance(child, ec2.CfnVPCEndpoint):
            match = _ENDPOINT_NAME.match(_joined(Stack.of(child).resolve(child.service_name)))
            if match:
                found.add(match.group(1))
    return found


def has_nat(root: IConstruct) -> bool:
    return any(isinstance(child, ec2.CfnNatGateway) for child in root.node.find_all())


def _failure_destinations(function: lambda_.Function) -> list[Any]:
    """The on-failure destinations of the function's event source mappings: the Lambda service
    sends there with the function's role, from outside the function's subnets."""
    stack = Stack.of(function)
    cfn = function.node.default_child
    ref = {"Ref": stack.resolve(cfn.logical_id)}
    found = []
    for child in stack.node.find_all():
        if isinstance(child, lambda_.CfnEventSourceMapping) and stack.resolve(child.function_name) == ref:
            config = stack.resolve(child.destination_config) or {}
            on_failure = config.get("onFailure") or config.get("OnFailure") or {}
            destination = on_failure.get("destination") or on_failure.get("Destination")
            if destination is not None:
                found.append(destination)
    return found


def _policy_actions(function: lambda_.Function) -> set[str]:
    """The actions the function's role allows it, less those only the Lambda service uses for it."""
    role = function.role
    if role is None:
        return set()
    service_side = _failure_destinations(function)
    actions: set[str] = set()
    for child in role.node.find_all():
        if isinstance(child, iam.Policy):
            document = Stack.of(child).resolve(child.document.to_json()) or {}
            for statement in document.get("Statement", []):
                if statement.get("Effect", "Allow") != "Allow":
                    continue
                resources = statement.get("Resource", [])
                resources = [resources] if not isinstance(resources, list) else resources
                if resources and all(resource in service_side for resource in resources):
                    continue
                action = statement.get("Action", [])
                actions.update([action] if isinstance(action, str) else action)
    return actions


def uses_of(function: lambda_.Function) -> dict[str, str]:
    """What the function reaches from its subnets -> why: the endpoint service of each AWS API
    its role grants, and the hosts its definition names (USES_HOSTS_METADATA)."""
    uses: dict[str, str] = {}
    for action in sorted(_policy_actions(function)):
        prefix = action.split(":", 1)[0]
        if prefix in NO_ROUTE_NEEDED or prefix == "*":
            continue
        uses.setdefault(ENDPOINT_OF_PREFIX.get(prefix, prefix), f"granted {action}")
    for entry in function.node.metadata:
        if entry.type == USES_HOSTS_METADATA:
            for host in entry.data:
                uses.setdefault(host, "verifies tokens" if host == COGNITO_JWKS_HOST else "its definition")
    return uses


def unrouted_uses(function: lambda_.Function, endpoints: set[str], nat: bool) -> dict[str, str]:
    """What a function placed in a VPC uses without a route: {} outside a VPC, or with a NAT."""
    cfn = function.node.default_child
    if not isinstance(cfn, lambda_.CfnFunction) or not Stack.of(cfn).resolve(cfn.vpc_config) or nat:
        return {}
    return {use: why for use, why in uses_of(function).items() if use in NAT_ONLY_HOSTS or use not in endpoints}


@jsii.implements(IAspect)
class VpcFunctionsHaveRoutes:
    """A function in the VPC's subnets reaches an AWS API only through a VPC endpoint for it, and
    any other host only through a NAT: the VPC has neither for what it is not given (infra/network.py).
    Without one its calls hang until the function times out, on AWS only. So a function with a
    VpcConfig whose grants (or named hosts) need a service that the app has no endpoint for, and
    no NAT gateway, is an error (ADR 0049)."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[set[str], bool]] = {}

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, lambda_.Function):
            return
        root = node.node.root
        key = root.node.addr
        if key not in self._routes:
            self._routes[key] = (endpoint_services(root), has_nat(root))
        endpoints, nat = self._routes[key]
        for use, why in sorted(unrouted_uses(node, endpoints, nat).items()):
            Annotations.of(node).add_error(
                f"{node.node.id} runs in the VPC's subnets and uses {use} ({why}), but the VPC has no endpoint for it "
                f"and no NAT (endpoints: {', '.join(sorted(endpoints)) or 'none'}): on AWS the call would hang until "
                "the function times out. Add an endpoint, or keep the function out of the VPC (ADR 0049)."
            )
