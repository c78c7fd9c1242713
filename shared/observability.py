"""Logger (always), Tracer and Metrics (on demand), with the API request id as correlation id.

Tracer is created lazily: constructing it imports aws_xray_sdk, ~120 ms of cold start that a
handler which records no custom subsegments does not need (Lambda's active tracing still
records the invocation). Metrics likewise, for handlers that emit business metrics.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "shop")

logger = Logger(service=SERVICE)


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Shop"), service=SERVICE)
