"""The checkout path's bulkhead: reserved concurrency for its functions, per stage (config
`reserved_concurrency`, docs/decisions/0027-checkout-resilience.md).

Reserved concurrency both guarantees and caps: a browse or search spike cannot take the
concurrency checkout needs, and a checkout storm cannot take the whole account's pool (Lambda
keeps 100 unreserved). A function named in the config that does not exist fails the synth, so a
rename in the topology cannot silently drop its reserve.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_

from infra.config import StageConfig


def apply_bulkhead(stack: Stack, config: StageConfig) -> dict[str, int]:
    """Set each configured function's reserved concurrency; returns {construct id: reserve}."""
    applied = {}
    for construct_id, reserve in config.reserved_concurrency:
        function = stack.node.try_find_child(construct_id)
        if not isinstance(function, lambda_.Function):
            raise ValueError(f"reserved_concurrency names {construct_id!r}, which is not a function of the stack")
        function.node.default_child.reserved_concurrent_executions = reserve
        applied[construct_id] = reserve
    return applied
