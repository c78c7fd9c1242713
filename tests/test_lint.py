"""The code passes the project's lint rules (pyproject.toml [tool.ruff])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_in_the_repository_points_outside_it():
    """The product's docs and code never refer to material beside the repository (the folder
    `shared` one level up): a reader of a fresh clone has none of it."""
    beside = "../" + "shared/"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = [name for name in files if (ROOT / name).is_file() and (ROOT / name).suffix in {".py", ".md", ".json", ".txt", ".toml"}
               and beside in (ROOT / name).read_text(errors="replace")]
    assert outside == []
