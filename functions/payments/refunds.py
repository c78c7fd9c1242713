"""A refund asked for through the API (an admin, or a seller for their own lines): reserve it on
the payment, have the provider make it, record it (docs/decisions/0017-refund-model.md). The
order is told by its caller (the orders service), and again by the payments stream.

The reservation (`refund_pending`, conditional on the refunded total we read) makes one refund of
a payment in flight at a time; the provider call is idempotent on `refund-<payment>-<new total>`,
so a retry with the same Idempotency-Key resumes the same refund and never makes a second.
"""

from __future__ import annotations

from typing import Any

from functions.payments import store
from functions.payments.providers import PaymentRequest, provider
from shared.attributes import now_iso
from shared.observability import logger

STALE_RESERVATION_SECONDS = 300  # a reservation this old was abandoned (its request died and was not retried)


def refund(payment: store.Payment, key: str, amount: int, by: dict[str, Any]) -> tuple[store.Payment, dict[str, Any]]:
    """Refund `amount` of a captured payment under `key` (the request's resource id); returns the
    payment after it and the refund's entry. store.RefundInProgress if another refund is in flight
    (an abandoned one is finished first, exactly as its own retry would, then this one is refused
    so that the caller decides again on what is left)."""
    pending = payment.refund_pending
    if pending and pending.get("key") != key and _stale(pending):
        _complete(payment, pending)
        raise store.RefundInProgress(payment.payment_id)
    if not pending or pending.get("key") != key:
        payment = store.reserve_refund(payment, key, amount, by)
        pending = payment.refund_pending or {}
    return _complete(payment, pending)


def _stale(pending: dict[str, Any]) -> bool:
    from datetime import UTC, datetime

    at = datetime.fromisoformat(str(pending.get("at", "")).replace("Z", "+00:00"))
    return (datetime.now(UTC) - at).total_seconds() > STALE_RESERVATION_SECONDS


def _complete(payment: store.Payment, pending: dict[str, Any]) -> tuple[store.Payment, dict[str, Any]]:
    """Have the provider make the reserved refund (idempotent on its target total) and record it."""
    amount, target = int(pending["amount"]), int(pending["target"])
    refund_ref = provider(payment.provider).refund(
        PaymentRequest(payment.payment_id, payment.order_id, payment.amount, payment.currency), payment.provider_ref or "",
        amount=amount, idempotency_key=f"refund-{payment.payment_id}-{target}",
    )
    entry = {"refund_ref": refund_ref, "amount": amount, "refunded_total": target, "source": "api", "at": now_iso(),
             **(pending.get("by") or {})}
    payment = store.finish_refund(payment.payment_id, str(pending["key"]), entry)
    logger.info("payment partly or wholly refunded", extra={"payment_id": payment.payment_id, "amount": amount, "total": target})
    return payment, entry
