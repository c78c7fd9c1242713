"""Logger, Tracer and Metrics configured once, with the API request id as correlation id."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "shop")

logger = Logger(service=SERVICE)
# Tracer patches nothing unless X-Ray is active; locally POWERTOOLS_TRACE_DISABLED=true.
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="Shop", service=SERVICE)
