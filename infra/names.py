"""Names of the physical resources we name ourselves (the checkout state machine, alarms), and the
stack they are named after.

Every stack of the app is the backend's parent stack or a nested stack under it (ADR 0038). A
nested stack's own name is CloudFormation's (`Shop-dev-OrdersServiceNestedStack...-1AB2C3`), so
names are made from the parent's name, which is a plain string at synth time ("Shop-dev"): code in
any stack can then name a resource of another stack without a reference to it (a reference
between nested stacks costs an output and a parameter, and may close a cycle).

A resource that lives in a service's stack has the service in its name: when a resource moves from
one service's stack to another's (the topology is re-sliced), CloudFormation creates the new one
before it deletes the old, and with the same name the creation would fail, or the deletion would
remove the new one.
"""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct


def root_stack(scope: Construct) -> Stack:
    """The top-level stack `scope` is in (its own stack when that is not nested)."""
    stack = Stack.of(scope)
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    return stack


def service_resource_name(scope: Construct, service: str, name: str) -> str:
    """"Shop-dev-orders-Checkout": the parent stack's name, the service, the resource's own name."""
    return f"{root_stack(scope).stack_name}-{service}-{name}"
