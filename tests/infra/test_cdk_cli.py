"""The CDK CLI synthesizes the app without Docker (what `cdk deploy` runs first)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import OPERATOR_CONTEXT

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_npx_cdk_synth_works_without_docker(tmp_path):
    assert (ROOT / "node_modules" / ".bin" / "cdk").exists(), "run `make test` (it installs the CDK CLI)"
    # GIVEN no docker binary on the PATH at all
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "docker").exists())
    env = {**os.environ, "PATH": path, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    assert shutil.which("docker", path=path) is None
    # WHEN the CLI synthesizes the prod stage, with the operator settings it needs (`-c key=value`)
    operator_settings = [argument for key, value in OPERATOR_CONTEXT.items() for argument in ("-c", f"{key}={value}")]
    result = subprocess.run(
        ["npx", "cdk", "synth", "--quiet", "-c", "stage=prod", *operator_settings, "--output", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    # THEN it succeeds and writes the template with the bundled layer asset
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((tmp_path / "Shop-prod.template.json").read_text())
    assert any(r["Type"] == "AWS::Lambda::LayerVersion" for r in template["Resources"].values())
