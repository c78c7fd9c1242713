"""The domain error model: every error a client can see has an HTTP status and a stable code.

Handlers raise these; `shared.http` turns them into the error envelope. Codes are part of the
public contract (docs/openapi.json): never rename one.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "BAD_REQUEST"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(DomainError):
    status, code = 400, "VALIDATION_ERROR"


class Unauthorized(DomainError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(DomainError):
    status, code = 403, "FORBIDDEN"


class NotFound(DomainError):
    """Also what another user's resource looks like: never reveal that it exists."""

    status, code = 404, "NOT_FOUND"


class Conflict(DomainError):
    status, code = 409, "CONFLICT"


class AlreadyExists(Conflict):
    code = "ALREADY_EXISTS"


class OutOfStock(Conflict):
    code = "OUT_OF_STOCK"


class QuantityLimitExceeded(Conflict):
    """More of a SKU than one cart may hold (the SKU's `max_per_cart`)."""

    code = "QUANTITY_LIMIT_EXCEEDED"


class HoldTimeExceeded(Conflict):
    """A guest cart has held stock for the longest total time a guest may (sign in to go on)."""

    code = "HOLD_TIME_EXCEEDED"


class InvalidState(Conflict):
    code = "INVALID_STATE"


class IdempotencyInProgress(Conflict):
    code = "IDEMPOTENCY_IN_PROGRESS"


class IdempotencyKeyReused(DomainError):
    status, code = 422, "IDEMPOTENCY_KEY_REUSED"


class RateLimited(DomainError):
    status, code = 429, "RATE_LIMITED"


class ServiceUnavailable(DomainError):
    status, code = 503, "SERVICE_UNAVAILABLE"
