"""Scheduled: even out hot SKUs' stock buckets, and collapse them into one near sell-out.

EventBridge runs it every minute; one run makes REBALANCE_PASSES_PER_INVOCATION passes
REBALANCE_SPACING_SECONDS apart (10 x 5 s); the local stack runs one pass every second.

Reservations drain buckets unevenly (a shopper's home bucket is a hash), so a bucket can run dry
while others still hold units. Each run moves available stock so every active bucket holds its
fair share, empties draining buckets (beyond a lowered bucket count) into the active ones, and
when the SKU's available stock is down to a few units per bucket, moves them all into bucket 0:
the last units are never stranded one per bucket (ADR 0022). Each move is one transaction at the
buckets' read versions, so a run racing a reservation changes nothing and the next run retries;
the reservation path itself also consolidates when no single bucket has what a shopper asks.
"""

from __future__ import annotations

import os
import time
from typing import Any

from functions.inventory.buckets import rebalance_all
from shared.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # EventBridge's finest rate is a minute; a flash sale needs passes every few seconds.
    passes = max(1, int(os.environ.get("REBALANCE_PASSES_PER_INVOCATION", "10")))
    spacing = float(os.environ.get("REBALANCE_SPACING_SECONDS", "5"))
    totals = {"rebalanced": 0, "busy": 0}
    for index in range(passes):
        result = rebalance_all()
        totals = {key: totals[key] + result[key] for key in totals}
        if index < passes - 1:
            time.sleep(spacing)
    if totals["rebalanced"] or totals["busy"]:
        logger.info("rebalanced stock buckets", extra=totals)
    return totals
