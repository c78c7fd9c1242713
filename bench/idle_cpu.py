"""Idle CPU of a started local stack: what its background loops (stream poller, queue poller,
TTL sweeper, scheduler) burn while nobody calls it, as CPU seconds per wall second of this
process (utime + stime from /proc/self/stat; 1.0 = one core busy)."""

from __future__ import annotations

import os
import time

IDLE_SECONDS = 10.0
SETTLE_SECONDS = 3.0


def process_cpu_seconds() -> float:
    """This process's user + system CPU time, every thread included."""
    fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_idle(seconds: float = IDLE_SECONDS, settle: float = SETTLE_SECONDS) -> float:
    """CPU seconds per second of an idle stack that is already started (shared or not)."""
    time.sleep(settle)  # let the start-up's stream records and seeds drain
    cpu, wall = process_cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (process_cpu_seconds() - cpu) / (time.perf_counter() - wall)


def report() -> str:
    from bench.stack import shared_stack

    shared_stack()
    idle = measure_idle()
    return (
        "## Idle CPU of the local stack\n\n"
        f"Seeded stack, {IDLE_SECONDS:g} s with no requests after {SETTLE_SECONDS:g} s to settle: CPU of the stack's "
        "process per wall second (1.00 = one core).\n\n"
        "| measured | CPU s per s | vs budget 0.05 |\n|---|---:|---:|\n"
        f"| idle stack | {idle:.3f} | {idle / 0.05:.2f}x |\n"
    )


if __name__ == "__main__":
    from bench.stack import stop_shared_stack

    try:
        print(report())
    finally:
        stop_shared_stack()
