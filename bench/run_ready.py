"""`make run` ready time: `python -m local` in a subprocess, from spawn to its "Local stack ready"
line, with the synth cache cold (LOCAL_SYNTH_CACHE=0: the CDK app is synthesized) and warm
(.build/synth-cache hit). The demo catalog seeds in the background after ready (ADR 0033); the
steps column is what the stack printed on the way."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_BUDGET_SECONDS = 15.0
STEP = re.compile(r"^\s+(\d+\.\d) s  (.*)$")


def time_to_ready(*, synth_cache: bool, timeout: float = 120.0) -> tuple[float, list[tuple[float, str]]]:
    """Seconds from spawning `python -m local` to its ready line, and the steps it printed."""
    from local.moto_server import free_port

    env = {**os.environ, "PORT": str(free_port()), "LOCAL_SYNTH_CACHE": "1" if synth_cache else "0", "PYTHONUNBUFFERED": "1",
           "LOG_LEVEL": "ERROR"}
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    steps: list[tuple[float, str]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Local stack ready"):
                return time.perf_counter() - began, steps
            if match := STEP.match(line):
                steps.append((float(match[1]), match[2]))
            if time.perf_counter() - began > timeout:
                break
        raise RuntimeError(f"`python -m local` was not ready within {timeout:g} s (exit {process.poll()})")
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the stack stops what it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def report() -> str:
    from local.synth import CACHE_DIR, synth_inputs_hash

    if not (CACHE_DIR / f"dev-{synth_inputs_hash('dev', False)}.json").is_file():
        time_to_ready(synth_cache=True)  # an empty cache: this run fills it
    cold, cold_steps = time_to_ready(synth_cache=False)
    warm, warm_steps = time_to_ready(synth_cache=True)

    def steps(values: list[tuple[float, str]]) -> str:
        return "; ".join(f"{at:.1f} s {what.split(' (')[0]}" for at, what in values)

    return "\n".join([
        "## `make run` ready time (`python -m local`, spawn to the ready line)",
        "",
        "| synth cache | ready | vs budget 15 s | steps (stack clock) |",
        "|---|---:|---:|---|",
        f"| cold (LOCAL_SYNTH_CACHE=0) | {cold:.1f} s | {cold / READY_BUDGET_SECONDS:.2f}x | {steps(cold_steps)} |",
        f"| warm (.build/synth-cache hit) | {warm:.1f} s | {warm / READY_BUDGET_SECONDS:.2f}x | {steps(warm_steps)} |",
        "",
        f"Warm vs cold: **{cold / warm:.1f}x** faster. Ready means serving with the demo accounts and categories; "
        "the demo catalog then seeds in the background through the API (ADR 0033).",
    ])


if __name__ == "__main__":
    print(report())
