"""CORS on actual responses: Access-Control-Allow-Origin for the stage's allowed origins only.

API Gateway answers the preflight (OPTIONS) itself, from the same list (infra/cors.py); the
handlers add the headers to what they answer. The list is the stage's `cors_allowed_origins`
(infra/config.py), given to every function as CORS_ALLOWED_ORIGINS (comma-separated).
"""

from __future__ import annotations

import os
from functools import lru_cache

ORIGINS_VARIABLE = "CORS_ALLOWED_ORIGINS"
# What a browser may send (preflight) and read (actual responses) beyond the CORS-safelisted ones.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token")
EXPOSED_HEADERS = ("Location", "X-Cart-Token", "Retry-After")
MAX_AGE_SECONDS = 600  # browsers cache a preflight this long (Chromium caps it at 7,200)


@lru_cache(maxsize=8)
def _allowed(raw: str) -> frozenset[str]:
    return frozenset(origin.strip() for origin in raw.split(",") if origin.strip())


def allowed_origins() -> frozenset[str]:
    return _allowed(os.environ.get(ORIGINS_VARIABLE, ""))


def response_headers(request_headers: dict[str, str] | None) -> dict[str, str]:
    """The CORS headers for an answer to a request with these headers ({} when CORS is off)."""
    allowed = allowed_origins()
    if not allowed:
        return {}
    origin = next((value for name, value in (request_headers or {}).items() if name.lower() == "origin"), None)
    headers = {"Vary": "Origin"}  # the answer depends on Origin: caches must not share it across origins
    if origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = ",".join(EXPOSED_HEADERS)
    return headers
