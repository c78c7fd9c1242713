"""Scheduled: release stock holds whose expiry has passed (the main expiry path, on time).

EventBridge runs this every minute (its finest rate); one run sweeps SWEEPS_PER_INVOCATION
times, SWEEP_SPACING_SECONDS apart, so a hold is released within ~20 s of its expiry, and writes
the heartbeat each time, so the availability cache's watermark never looks stale when stock
is merely quiet. The local stack runs it every few seconds with one sweep per run.

Each release is conditional (still this hold, still due) and records the hold's end entry only
if absent, so it can race the TTL stream path, a renewal, or another sweep without releasing
twice. A failure propagates: EventBridge's async invoke retries, then its DLQ keeps the event.
"""

from __future__ import annotations

import os
import time
from typing import Any

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
    totals = {"due": 0, "released": 0}
    for index in range(sweeps):
        result = sweep()
        beat()
        totals = {key: totals[key] + result[key] for key in totals}
        if index < sweeps - 1:
            time.sleep(spacing)
    if totals["due"]:
        logger.info("swept expired holds", extra=totals)
    return totals
