"""Scheduled: release stock holds whose expiry has passed (the main expiry path, on time), and
rebalance hot SKUs' stock buckets (ADR 0022).

EventBridge runs this every minute (its finest rate); one run sweeps SWEEPS_PER_INVOCATION
times, SWEEP_SPACING_SECONDS apart, so a hold is released within ~20 s of its expiry, and writes
the heartbeat each time, so the availability cache's watermark never looks stale when stock
is merely quiet. The local stack runs it every few seconds with one sweep per run.

Each release is conditional (still this hold, still due) and records the hold's end entry only
if absent, so it can race the TTL stream path, a renewal, or another sweep without releasing
twice. A failure propagates: EventBridge's async invoke retries, then its DLQ keeps the event.

The stock rebalancer (buckets.rebalance_all: even out hot SKUs' buckets, collapse them into one
near sell-out) rides on this job rather than a schedule of its own (the stack is at
CloudFormation's 500-resource limit, and a job costs ~8): every REBALANCE_SPACING_SECONDS (5)
of the run, and once per local run. A rebalancing failure is logged, never fails the sweep.
"""

from __future__ import annotations

import os
import time
from typing import Any

from functions.inventory.buckets import rebalance_all
from functions.inventory.heartbeat import beat
from functions.inventory.holds import due_holds, release_if_expired
from shared.observability import logger


def sweep(now: int | None = None) -> dict[str, int]:
    due = due_holds(now)
    released = sum(1 for hold in due if release_if_expired(hold, now))
    return {"due": len(due), "released": released}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sweeps = max(1, int(os.environ.get("SWEEPS_PER_INVOCATION", "3")))
    spacing = float(os.environ.get("SWEEP_SPACING_SECONDS", "20"))
    rebalance_every = float(os.environ.get("REBALANCE_SPACING_SECONDS", "5"))
    totals = {"due": 0, "released": 0}
    for index in range(sweeps):
        result = sweep()
        beat()
        totals = {key: totals[key] + result[key] for key in totals}
        _rebalance()
        if index < sweeps - 1:
            waited = 0.0
            while waited + rebalance_every < spacing:
                time.sleep(rebalance_every)
                waited += rebalance_every
                _rebalance()
            time.sleep(spacing - waited)
    if totals["due"]:
        logger.info("swept expired holds", extra=totals)
    return totals


def _rebalance() -> None:
    try:
        result = rebalance_all()
    except Exception:  # noqa: BLE001 - stock stays correct unbalanced; the next pass tries again
        logger.exception("stock rebalancing failed")
        return
    if result["rebalanced"] or result["busy"]:
        logger.info("rebalanced stock buckets", extra=result)
