"""Deployment sizes and synth time: the real app synthesized with the layer bundled, then every
function's code and layers measured (unzipped, as Lambda's 250 MB limit counts them, and zipped,
as uploaded)."""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _zipped(path: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path))
    return buffer.tell()


def _asset(directory: Path, code: dict[str, Any] | None) -> Path | None:
    """The asset directory a Code/Content property points at (S3Key `<hash>.zip`); None for inline code."""
    key = (code or {}).get("S3Key")
    if not isinstance(key, str):
        return None
    path = directory / f"asset.{key.removesuffix('.zip')}"
    return path if path.is_dir() else None


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f}"


def report() -> str:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from app import build_app

    lines = ["## Synth time and deployment sizes", "", "| what | value |", "|---|---:|"]
    for label in ("synth (first in this process, layer cached)", "synth (warm)"):
        started = time.perf_counter()
        app, stack = build_app(stage="dev", outdir=tempfile.mkdtemp(prefix="bench-synth-"))
        assembly = app.synth()
        lines.append(f"| {label} | {time.perf_counter() - started:.1f} s |")
    from local.flatten import flatten_assembly

    directory = Path(assembly.directory)
    # the parent stack with its nested stacks (a service's functions are in its stack, ADR 0038)
    resources = flatten_assembly(directory, stack.template_file)["Resources"]
    sizes: dict[Path, tuple[int, int]] = {}

    def measured(path: Path) -> tuple[int, int]:
        if path not in sizes:
            sizes[path] = (_size(path), _zipped(path))
        return sizes[path]

    layers: dict[str, Path] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::LayerVersion" and (path := _asset(directory, resource["Properties"].get("Content"))):
            layers[logical_id] = path
            unzipped, zipped = measured(path)
            lines.append(f"| layer `{logical_id}` (unzipped / zipped) | {_mb(unzipped)} MB / {_mb(zipped)} MB |")
    lines += [
        "",
        "Every function of the `dev` stage: its own code, its layers, and the total Lambda counts against",
        "its 250 MB unzipped limit. Functions built from the same asset share it (one upload).",
        "",
        "| function | handler | code MB (zipped) | layers MB | total unzipped MB |",
        "|---|---|---:|---:|---:|",
    ]
    rows = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        code_path = _asset(directory, props.get("Code"))
        code, code_zipped = measured(code_path) if code_path else (len(str((props.get("Code") or {}).get("ZipFile", ""))),) * 2
        layer_ids = [layer.get("Ref") for layer in props.get("Layers") or [] if isinstance(layer, dict)]
        layer_size = sum(measured(layers[ref])[0] for ref in layer_ids if ref in layers)
        rows.append((code + layer_size, f"| `{logical_id}` | `{props.get('Handler')}` | {_mb(code)} ({_mb(code_zipped)}) | "
                                        f"{_mb(layer_size)} | {_mb(code + layer_size)} |"))
    lines += [row for _, row in sorted(rows, key=lambda r: (-r[0], r[1]))]
    largest = max((total for total, _ in rows), default=0)
    lines += ["", f"{len(rows)} functions; the largest is {_mb(largest)} MB unzipped ({largest / 250e6:.0%} of Lambda's 250 MB limit)."]
    return "\n".join(lines)
