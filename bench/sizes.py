"""Deployment sizes and synth time: the real app synthesized with the layer bundled."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def report() -> str:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from app import build_app

    lines = ["## Synth time and package sizes", "", "| what | value |", "|---|---:|"]
    for label in ("synth (first in this process, layer cached)", "synth (warm)"):
        started = time.perf_counter()
        app, stack = build_app(stage="dev", outdir=tempfile.mkdtemp(prefix="bench-synth-"))
        assembly = app.synth()
        lines.append(f"| {label} | {time.perf_counter() - started:.1f} s |")
    for asset in sorted(Path(assembly.directory).glob("asset.*")):
        kind = "layer (unzipped)" if (asset / "python").exists() else "function code (unzipped)"
        lines.append(f"| {kind} `{asset.name[:18]}…` | {_size(asset) / 1e6:.2f} MB |")
    return "\n".join(lines)
