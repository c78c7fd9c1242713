"""Synthesize small CDK stacks inside tests (the same CDK that builds the real app)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def synth_template(build: Callable[[Any], None], stack_name: str = "TestStack") -> dict[str, Any]:
    """Run `build(stack)` on a fresh stack and return its synthesized CloudFormation template."""
    import aws_cdk as cdk
    from aws_cdk import assertions

    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-test-"))
    stack = cdk.Stack(app, stack_name)
    build(stack)
    return assertions.Template.from_stack(stack).to_json()
