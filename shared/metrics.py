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
# Every metric has the dimension `service`: the emitting function's service (its folder under
# functions/), which infra/functions.py sets as the function's POWERTOOLS_SERVICE_NAME. A metric
# counted in one service's module but run by another's function (inventory's availability read on
# catalog's product page) carries the service of the function. "shop" only outside a function.
SERVICE_VARIABLE = "POWERTOOLS_SERVICE_NAME"
DEFAULT_SERVICE = "shop"

# name  # its dimension: values (the module that counts it; the services whose functions run it)
AVAILABILITY_READS = "AvailabilityReads"  # Mode: hit | degraded (functions/inventory/availability.py; catalog's product page)
PRODUCT_CACHE_READS = "ProductCacheReads"  # Result: hit | miss (functions/catalog/handlers/get_product.py; catalog)
CHECKOUT_COMPENSATIONS = "CheckoutCompensations"  # Cause: refused | failed (functions/orders/consumers/saga.py; orders)
PRICE_LOOKUPS = "PriceLookups"  # Result: verified | last-known | unavailable (functions/catalog/prices.py; cart, orders)


def disabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")


def service() -> str:
    """The `service` dimension of this function's metrics."""
    return os.environ.get(SERVICE_VARIABLE) or DEFAULT_SERVICE


def count(name: str, dimension: str, value: str, amount: int = 1) -> None:
    """One EMF line: `name` += amount, by (service, `dimension`=`value`), service = service()."""
    if disabled():
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["service", dimension]],
                                   "Metrics": [{"Name": name, "Unit": "Count"}]}],
        },
        "service": service(),
        dimension: value,
        name: amount,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
