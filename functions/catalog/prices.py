"""SKU prices for the cart and checkout, behind a circuit breaker with last-known prices
(seed 002's checkout mitigations; docs/decisions/0027-checkout-resilience.md).

- Every catalog read here has DynamoDB's timeout budget (shared/aws.py): a slow catalog costs a
  request about a second, not 30 s.
- After FAILURES_TO_OPEN failed reads in a row the breaker opens for `PRICE_BREAKER_OPEN_SECONDS`
  (default 10): reads fail at once, without waiting for the catalog. Then one read is let through
  (half-open): a success closes the breaker, a failure opens it again.
- Every price read from the catalog is remembered (per execution environment, like the breaker)
  as the SKU's last-known price.

Two ways to ask:

- `verified(sku_ids)`: prices read from the catalog now, or CatalogUnavailable. Checkout uses
  this: a price that was not verified is never charged.
- `current_or_last_known(sku_ids)`: the same when the catalog answers; when it does not, the
  last-known price (or none: the caller falls back to the price the cart line was added at),
  and the SKUs whose price may have changed. The cart uses this: it answers fast, flagged.
"""

from __future__ import annotations

import os
import threading
import time

from functions.catalog.skus import SkuInfo, lookup
from shared import metrics
from shared.errors import ServiceUnavailable
from shared.metrics import PRICE_LOOKUPS
from shared.observability import logger

FAILURES_TO_OPEN = 5
DEFAULT_OPEN_SECONDS = 10.0
RETRY_AFTER_SECONDS = 10
MAX_LAST_KNOWN = 10_000  # SKUs remembered per execution environment (~200 bytes each)


class CatalogUnavailable(ServiceUnavailable):
    code = "CATALOG_UNAVAILABLE"

    def __init__(self, message: str = "Prices cannot be verified right now; nothing was charged. Retry shortly.") -> None:
        super().__init__(message, {"retry_after_seconds": RETRY_AFTER_SECONDS})


class _Breaker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures = 0
        self.open_until = 0.0
        self.trial = False  # a half-open trial read is under way

    def allow(self) -> bool:
        with self.lock:
            if self.failures < FAILURES_TO_OPEN:
                return True
            if time.monotonic() < self.open_until or self.trial:
                return False
            self.trial = True  # half-open: this one read decides
            return True

    def succeeded(self) -> None:
        with self.lock:
            self.failures, self.trial = 0, False

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures += 1
            self.trial = False
            if self.failures >= FAILURES_TO_OPEN:
                self.open_until = time.monotonic() + open_seconds()
            failures = self.failures
        logger.warning("catalog price read failed", extra={"error": repr(exc), "failures_in_a_row": failures,
                                                           "breaker_open": failures >= FAILURES_TO_OPEN})

    @property
    def is_open(self) -> bool:
        return self.failures >= FAILURES_TO_OPEN and time.monotonic() < self.open_until


_breaker = _Breaker()
_last_known: dict[str, SkuInfo] = {}


def open_seconds() -> float:
    return float(os.environ.get("PRICE_BREAKER_OPEN_SECONDS") or DEFAULT_OPEN_SECONDS)


def breaker_open() -> bool:
    return _breaker.is_open


def reset() -> None:
    """Close the breaker and forget last-known prices (tests)."""
    global _breaker
    _breaker = _Breaker()
    _last_known.clear()


def verified(sku_ids: list[str], consistent: bool = False) -> dict[str, SkuInfo]:
    """The live SKUs among `sku_ids`, read from the catalog now (`consistent`: a strongly
    consistent read, for the checkout); CatalogUnavailable when the breaker is open or the read
    failed within its budget."""
    if not _breaker.allow():
        metrics.count(PRICE_LOOKUPS, "Result", "unavailable")
        raise CatalogUnavailable()
    from botocore.exceptions import BotoCoreError, ClientError  # loaded already: the catalog client is botocore's

    try:
        found = lookup(sku_ids, consistent=consistent)
    except (BotoCoreError, ClientError) as exc:  # timeouts, connection errors, throttling, 5xx (a bug still raises)
        _breaker.failed(exc)
        metrics.count(PRICE_LOOKUPS, "Result", "unavailable")
        raise CatalogUnavailable() from exc
    _breaker.succeeded()
    if len(_last_known) > MAX_LAST_KNOWN:
        _last_known.clear()
    _last_known.update(found)
    metrics.count(PRICE_LOOKUPS, "Result", "verified")
    return found


def current_or_last_known(sku_ids: list[str]) -> tuple[dict[str, SkuInfo], set[str]]:
    """(SKU infos, the SKUs whose price may have changed). When the catalog answers, all are
    verified (an absent SKU is not sold). When it does not, the last-known infos this execution
    environment has, and every asked SKU is flagged (one not remembered is absent from the infos:
    the caller shows the price its cart line was added at)."""
    try:
        return verified(sku_ids), set()
    except CatalogUnavailable:
        metrics.count(PRICE_LOOKUPS, "Result", "last-known")
        return {sku: _last_known[sku] for sku in sku_ids if sku in _last_known}, set(sku_ids)
