"""Moved: the busy-retry policy lives in shared/transactions.py (ADR 0041). These names stay
importable for code written against them; new code imports shared.transactions."""

from __future__ import annotations

from shared.transactions import (
    ATTEMPTS,
    BASE_BACKOFF_SECONDS,
    BUSY_CODES,
    BUSY_REASONS,
    is_busy,
    retry_when_busy,
)
from shared.transactions import cancellation_reasons as reason_codes

__all__ = ["ATTEMPTS", "BASE_BACKOFF_SECONDS", "BUSY_CODES", "BUSY_REASONS", "is_busy", "reason_codes", "retry_when_busy"]
