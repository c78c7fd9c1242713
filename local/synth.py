"""Synthesize the real CDK app for the local stack (the same code path as `cdk synth`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def synth_backend_template(stage: str = "dev", bundle: bool = False) -> dict[str, Any]:
    """The stack's CloudFormation template. Without `bundle`, asset bundling is skipped (the
    local stack runs the source tree; the layer is only needed for a real deployment)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from app import build_app

    context = None if bundle else {"aws:cdk:bundling-stacks": []}
    outdir = tempfile.mkdtemp(prefix="shop-synth-")
    app, stack = build_app(stage=stage, outdir=outdir, context=context)
    assembly = app.synth()
    template_file = Path(assembly.directory) / stack.template_file
    return json.loads(template_file.read_text())
