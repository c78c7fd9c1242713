"""Cold-start import time of each handler vs `import boto3`, in fresh interpreters, interleaved."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from infra.topology import all_routes

ROOT = Path(__file__).resolve().parents[1]
RUNS = 9

_TIMER = (
    "import time, os; os.environ.setdefault('CATALOG_TABLE_NAME', 'catalog'); t = time.perf_counter(); "
    "{statement}; print((time.perf_counter() - t) * 1000)"
)


def _import_ms(statement: str) -> float:
    code = _TIMER.format(statement=statement)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def measure() -> list[tuple[str, float, float]]:
    """(handler, median ms, ratio to `import boto3`) per handler, plus the boto3 baseline."""
    targets = {"import boto3": "import boto3"}
    for route in all_routes():
        module = route.handler.rsplit(".", 1)[0]
        targets[module] = f"import {module}"
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(RUNS):  # interleaved, so machine noise hits every target alike
        for name, statement in targets.items():
            samples[name].append(_import_ms(statement))
    baseline = statistics.median(samples["import boto3"])
    return [(name, statistics.median(values), statistics.median(values) / baseline) for name, values in samples.items()]


def report() -> str:
    lines = [f"## Cold-start import time (fresh interpreter, median of {RUNS}, interleaved)", "",
             "| module | import ms | vs `import boto3` |", "|---|---:|---:|"]
    for name, ms, ratio in measure():
        lines.append(f"| `{name}` | {ms:.0f} | {ratio:.2f}x |")
    return "\n".join(lines)
