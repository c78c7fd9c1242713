"""Business metrics as CloudWatch Embedded Metric Format lines (one JSON line on stdout, which
Lambda sends to CloudWatch Logs, which extracts the metric): no client, no API call, no import
beyond json, so a handler pays nothing at cold start for counting (powertools' Metrics costs
an import and a flush decorator). infra/monitoring.py alarms on and charts these names.

Disabled with POWERTOOLS_METRICS_DISABLED=true (the local stack: nothing reads its stdout).
"""

from __future__ import annotations

import json
import os
import sys
import time

NAMESPACE = "Shop"  # POWERTOOLS_METRICS_NAMESPACE, set by infra/stack.py
SERVICE_DIMENSION = "shop"  # POWERTOOLS_SERVICE_NAME

AVAILABILITY_READS = "AvailabilityReads"  # dimension Mode: hit | degraded (functions/inventory/availability.py)
PRODUCT_CACHE_READS = "ProductCacheReads"  # dimension Result: hit | miss (functions/catalog/handlers/get_product.py)
CHECKOUT_COMPENSATIONS = "CheckoutCompensations"  # dimension Cause: refused | failed (functions/orders/consumers/saga.py)
PRICE_LOOKUPS = "PriceLookups"  # dimension Result: verified | last-known | unavailable (functions/catalog/prices.py)


def disabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")


def count(name: str, dimension: str, value: str, amount: int = 1) -> None:
    """One EMF line: `name` += amount, by (service, `dimension`=`value`)."""
    if disabled():
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_DIMENSION)
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["service", dimension]],
                                   "Metrics": [{"Name": name, "Unit": "Count"}]}],
        },
        "service": service,
        dimension: value,
        name: amount,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
