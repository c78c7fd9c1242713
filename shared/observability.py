"""Logger (always) and Metrics (on demand), with the API request id as correlation id.

No Tracer: the layer ships without the X-Ray SDK (docs/decisions/0028-cold-start-packaging.md);
Lambda's active tracing still records every invocation. Metrics is created lazily, for handlers
that emit business metrics.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

# The function's service (identity, catalog, ... notifications): infra/functions.py sets it per
# function from the handler's folder, so log lines and metrics say which service wrote them.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "shop"

logger = Logger(service=SERVICE)


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Shop"), service=SERVICE)
