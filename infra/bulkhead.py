"""The checkout path's bulkhead: reserved concurrency for its functions, per stage (config
`reserved_concurrency`, docs/decisions/0027-checkout-resilience.md).

Reserved concurrency both guarantees and caps: a browse or search spike cannot take the
concurrency checkout needs, and a checkout storm cannot take the whole account's pool (Lambda
keeps 100 unreserved). A function named in the config that does not exist fails the synth, so a
rename in the topology cannot silently drop its reserve. Functions are looked up by construct id in
the stack and its nested stacks (each service's, ADR 0038), wherever the topology puts them.
"""

from __future__ import annotations

from aws_cdk import NestedStack, Stack
from aws_cdk import aws_lambda as lambda_

from infra.config import StageConfig


def apply_bulkhead(stack: Stack, config: StageConfig) -> dict[str, int]:
    """Set each configured function's reserved concurrency; returns {construct id: reserve}."""
    applied = {}
    stacks = [stack, *(node for node in stack.node.find_all() if isinstance(node, NestedStack))]
    for construct_id, reserve in config.reserved_concurrency:
        found = [function for scope in stacks
                 if isinstance(function := scope.node.try_find_child(construct_id), lambda_.Function)]
        if len(found) != 1:
            raise ValueError(f"reserved_concurrency names {construct_id!r}, which is not a function of the stack "
                             f"(or of exactly one of its nested stacks): {len(found)} found")
        [function] = found
        function.node.default_child.reserved_concurrent_executions = reserve
        applied[construct_id] = reserve
    return applied
