"""Cold-start import time of each handler vs `import boto3`, in fresh interpreters, interleaved."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # infra.checkout loads aws_cdk

from infra.handlers import deployed_handlers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7

_TIMER = (
    "import time, os; os.environ.setdefault('CATALOG_TABLE_NAME', 'catalog'); t = time.perf_counter(); "
    "{statement}; print((time.perf_counter() - t) * 1000)"
)


def _import_ms(statement: str) -> float:
    code = _TIMER.format(statement=statement)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def handler_modules() -> list[tuple[str, str]]:
    """(module, what runs it) for every Python handler the stack deploys (infra/handlers.py; the
    saga's steps share one module)."""
    kinds: dict[str, str] = {}
    for handler, kind in deployed_handlers():
        kinds.setdefault(handler.rsplit(".", 1)[0], kind)
    return list(kinds.items())


def measure() -> list[tuple[str, float, float]]:
    """(handler module, median ms, ratio to `import boto3`) per handler module, plus the boto3 baseline."""
    targets = {"import boto3": "import boto3"}
    for module, _ in handler_modules():
        targets[module] = f"import {module}"
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(RUNS):  # interleaved, so machine noise hits every target alike
        for name, statement in targets.items():
            samples[name].append(_import_ms(statement))
    baseline = statistics.median(samples["import boto3"])
    return [(name, statistics.median(values), statistics.median(values) / baseline) for name, values in samples.items()]


def report() -> str:
    kinds = dict(handler_modules())
    rows = measure()
    lines = [f"## Cold-start import time (fresh interpreter, median of {RUNS}, interleaved)", "",
             f"Every handler module the stack deploys ({len(rows) - 1}), imported in a fresh interpreter, against",
             "`import boto3` (which the Lambda runtime provides and a handler that makes any AWS call pays anyway).", "",
             "| module | runs as | import ms | vs `import boto3` |", "|---|---|---:|---:|"]
    for name, ms, ratio in rows:
        lines.append(f"| `{name}` | {kinds.get(name, 'baseline')} | {ms:.0f} | {ratio:.2f}x |")
    slowest = max(rows[1:], key=lambda row: row[2])
    lines += ["", f"Slowest: `{slowest[0]}` at {slowest[2]:.2f}x `import boto3`."]
    return "\n".join(lines)
