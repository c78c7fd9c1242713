"""Checks that run on every synth: an asynchronous consumer without an on-failure destination
is an error, because its failures would be dropped silently."""

from __future__ import annotations

import jsii
from aws_cdk import Annotations, IAspect, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

ASYNC_PRINCIPALS = ("events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com", "scheduler.amazonaws.com")


@jsii.implements(IAspect)
class AsyncConsumersHaveFailureDestination:
    """Stream/queue mappings need OnFailure (streams) or a source-queue redrive policy (SQS);
    async-invoked functions need an EventInvokeConfig OnFailure; rule targets need a DLQ."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, lambda_.CfnEventSourceMapping):
            self._check_mapping(node)
        elif isinstance(node, events.CfnRule):
            self._check_rule(node)
        elif isinstance(node, lambda_.CfnPermission):
            self._check_async_invoke(node)

    def _check_mapping(self, mapping: lambda_.CfnEventSourceMapping) -> None:
        stack = Stack.of(mapping)
        source = stack.resolve(mapping.event_source_arn)
        queue = self._queue_for(stack, source)
        if queue is not None:
            if not stack.resolve(queue.redrive_policy):
                Annotations.of(mapping).add_error("SQS event source queue has no redrive policy (DLQ).")
            return
        config = stack.resolve(mapping.destination_config) or {}
        if not (config.get("onFailure") or config.get("OnFailure")):
            Annotations.of(mapping).add_error("Stream event source mapping has no on-failure destination (DLQ).")

    @staticmethod
    def _queue_for(stack: Stack, source: object) -> sqs.CfnQueue | None:
        if not (isinstance(source, dict) and "Fn::GetAtt" in source):
            return None
        logical_id = source["Fn::GetAtt"][0]
        for child in stack.node.find_all():
            if isinstance(child, sqs.CfnQueue) and stack.get_logical_id(child) == logical_id:
                return child
        return None

    def _check_rule(self, rule: events.CfnRule) -> None:
        for target in Stack.of(rule).resolve(rule.targets) or []:
            if not (target.get("deadLetterConfig") or target.get("DeadLetterConfig")):
                Annotations.of(rule).add_error(f"EventBridge target {target.get('id') or target.get('Id')} has no dead-letter queue.")

    def _check_async_invoke(self, permission: lambda_.CfnPermission) -> None:
        principal = Stack.of(permission).resolve(permission.principal)
        if principal not in ASYNC_PRINCIPALS:
            return
        function = permission.node.scope
        if not isinstance(function, lambda_.Function):
            return
        has_invoke_config = any(isinstance(child, lambda_.EventInvokeConfig) for child in function.node.children)
        has_dlq = function.dead_letter_queue is not None
        if not (has_invoke_config or has_dlq):
            Annotations.of(function).add_error(f"{function.node.id} is invoked asynchronously by {principal} without an on-failure destination.")
