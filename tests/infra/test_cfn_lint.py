"""cfn-lint on the templates the real app synthesizes (dev and prod)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, Synth

pytestmark = pytest.mark.slow


def _cfn_lint() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "cfn-lint", Path(sys.executable).parent / "cfn-lint"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("cfn-lint")
    assert found, "cfn-lint is not installed (requirements-dev.txt)"
    return found


def test_cfn_lint_finds_nothing_in_the_synthesized_template(synth: Synth) -> None:
    # GIVEN the synthesized template of a stage, and its nested stacks' (infra/monitoring.py)
    template = synth.template_path
    assert template.is_file()
    nested = sorted(str(path) for path in synth.assembly_dir.glob("*.nested.template.json"))
    assert nested, "no nested template: is the monitoring stack still nested?"

    # WHEN cfn-lint checks it. W3005 ("DependsOn already enforced by a Ref/GetAtt") is ignored:
    # CDK itself emits those redundant DependsOn (e.g. a function on its own role and default
    # policy), nothing in this project's code can remove them, and they are harmless.
    result = subprocess.run(
        [_cfn_lint(), "--ignore-checks", "W3005", "--", str(template), *nested],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # THEN there is no error, warning or informational finding at all
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), result.stdout + result.stderr
