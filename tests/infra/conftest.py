"""The real CDK app, synthesized once per test session per stage (dev and prod).

`build_app(stage=..., outdir=...)` with the default context (and, for prod, the operator settings
of OPERATOR_CONTEXT), i.e. exactly what `python app.py` does: the shared layer IS bundled (local pip, cached in .build/layer-cache after the first
time) and cdk-nag's AwsSolutionsChecks runs as a validation plugin. A synth that fails (for
instance on an unacknowledged cdk-nag finding) is recorded, not raised, so that test_nag can
report it as a finding and every other test fails with the same message.

The app is a parent stack and nested stacks (one per service, and monitoring; ADR 0038). Tests
read `template`: the parent with every nested template merged in, each nested stack's parameters
replaced by what the parent passes and each output read by what it outputs (local/flatten.py,
what the local stack deploys). So an assertion such as "the function's Role is the role's
GetAtt" or "the alarm watches the queue's QueueName" holds across stacks exactly as it held in
one template. `parent_template` and `nested_templates` are the templates as synthesized.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]

# What an operator passes to a production stage (`cdk synth -c stage=prod -c key=value`, README
# "Deploying to AWS"; infra/config.py OPERATOR_SETTINGS): example values for the suite's prod synth.
# dev is synthesized with no context at all, as `cdk synth` does.
OPERATOR_CONTEXT: dict[str, str] = {
    "alarm_email": "ops@example.com",
    "notification_from_address": "orders@shop.example.com",
    "cors_allowed_origins": "https://shop.example.com",
    "public_base_url": "https://api.shop.example.com",
}
STAGE_CONTEXT: dict[str, dict[str, str]] = {"prod": OPERATOR_CONTEXT}


@dataclass
class Synth:
    """One synthesized stage of the real app."""

    stage: str
    app: Any
    stack: Any
    assembly_dir: Path
    seconds: float
    error: BaseException | None = None
    _template: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def template_path(self) -> Path:
        """The parent stack's template file."""
        return self.assembly_dir / self.stack.template_file

    @property
    def parent_template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())

    @property
    def nested_template_paths(self) -> list[Path]:
        return sorted(self.assembly_dir.glob("*.nested.template.json"))

    @property
    def nested_templates(self) -> dict[str, dict[str, Any]]:
        """File name -> template, for every nested stack of the app."""
        return {path.name: json.loads(path.read_text()) for path in self.nested_template_paths}

    @property
    def template(self) -> dict[str, Any]:
        """The parent and every nested template as one (local/flatten.py)."""
        if self._template is None:
            from local.flatten import flatten_assembly

            self._template = flatten_assembly(self.assembly_dir, self.stack.template_file)
        return self._template

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == cfn_type}

    def logical_id(self, *path: str) -> str:
        """Logical id of the CloudFormation resource behind the construct at stack/<path...>, or
        at <nested stack>/<path...> in exactly one of the parent's nested stacks (a service's
        function: "OrdersCreateOrder")."""
        import aws_cdk as cdk

        candidates = [self.stack, *(child for child in self.stack.node.children if isinstance(child, cdk.NestedStack))]
        found = []
        for construct in candidates:
            for part in path:
                construct = construct.node.try_find_child(part)
                if construct is None:
                    break
            else:
                found.append(construct)
        assert len(found) == 1, f"{'/'.join(path)}: {len(found)} constructs in the stack and its nested stacks"
        resource = found[0].node.default_child
        return cdk.Stack.of(resource).get_logical_id(resource)

    @property
    def validation_report(self) -> Path:
        return self.assembly_dir / "validation-report.json"

    def file_assets(self) -> dict[str, Path]:
        """Asset hash -> staged directory in the cloud assembly (from <stack>.assets.json)."""
        manifest = json.loads((self.assembly_dir / f"{self.stack.artifact_id}.assets.json").read_text())
        return {
            asset_hash: self.assembly_dir / asset["source"]["path"]
            for asset_hash, asset in manifest.get("files", {}).items()
            if asset["source"].get("packaging") == "zip"
        }

    def asset_dir_for(self, code: dict[str, Any]) -> Path:
        """Staged directory of a Lambda Code / LayerVersion Content ({"S3Key": "<hash>.zip"})."""
        return self.file_assets()[code["S3Key"].removesuffix(".zip")]


def _synthesize(stage: str, outdir: Path) -> Synth:
    from app import build_app

    started = time.perf_counter()
    app, stack = build_app(stage=stage, outdir=str(outdir), context=STAGE_CONTEXT.get(stage))
    error = None
    try:
        assembly = app.synth()
        assembly_dir = Path(assembly.directory)
    except Exception as exc:  # noqa: BLE001 - recorded; test_nag reports it
        error = exc
        assembly_dir = outdir
    seconds = time.perf_counter() - started
    _TIMINGS[stage] = seconds
    return Synth(stage, app, stack, assembly_dir, seconds, error)


@pytest.fixture(scope="session")
def synth_attempts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    """dev and prod, synthesized once; dev first (it pays for the layer bundling)."""
    return {stage: _synthesize(stage, tmp_path_factory.mktemp(f"cdk-{stage}")) for stage in ("dev", "prod")}


def _succeeded(attempt: Synth) -> Synth:
    if attempt.error is not None:
        pytest.fail(f"synthesizing the {attempt.stage} app failed: {attempt.error}", pytrace=False)
    return attempt


@pytest.fixture(scope="session")
def dev(synth_attempts: dict[str, Synth]) -> Synth:
    return _succeeded(synth_attempts["dev"])


@pytest.fixture(scope="session")
def prod(synth_attempts: dict[str, Synth]) -> Synth:
    return _succeeded(synth_attempts["prod"])


@pytest.fixture(scope="session", params=["dev", "prod"])
def synth(request: pytest.FixtureRequest, synth_attempts: dict[str, Synth]) -> Synth:
    """Each stage in turn: for checks that must hold in every stage."""
    return _succeeded(synth_attempts[request.param])


_TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TIMINGS:
        timings = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in _TIMINGS.items())
        terminalreporter.write_line(f"real CDK app synthesized (build_app + synth, layer bundling included): {timings}")
