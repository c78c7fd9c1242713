"""The payments' JSON shape (docs/openapi.json, the payments operations)."""

from __future__ import annotations

from typing import Any

from functions.payments.store import PENDING, Payment
from shared.http import public_url


def payment_link(payment: Payment) -> str | None:
    """Where the buyer pays: only while the payment can still be made."""
    if payment.status != PENDING:
        return None
    return payment.payment_url or (public_url(payment.payment_path) if payment.payment_path else None)


def payment_view(payment: Payment, event: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {
        "payment_id": payment.payment_id, "order_id": payment.order_id, "amount": payment.amount,
        "currency": payment.currency, "status": payment.status, "provider": payment.provider,
        "payment_url": payment_link(payment), "refunded_total": payment.refunded_total,
        "created_at": payment.created_at, "updated_at": payment.updated_at,
    }
    if payment.client_secret and payment.status == PENDING:
        view["client_secret"] = payment.client_secret
    return view
