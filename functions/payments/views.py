"""The payments' JSON shape (../shared/api-contract.md "Payments")."""

from __future__ import annotations

from typing import Any

from functions.payments.store import Payment
from shared.http import public_url


def payment_view(payment: Payment, event: dict[str, Any]) -> dict[str, Any]:
    url = payment.payment_url or (public_url(event, payment.payment_path) if payment.payment_path else None)
    view = {
        "payment_id": payment.payment_id, "order_id": payment.order_id, "amount": payment.amount,
        "currency": payment.currency, "status": payment.status, "provider": payment.provider, "payment_url": url,
        "created_at": payment.created_at, "updated_at": payment.updated_at,
    }
    if payment.client_secret:
        view["client_secret"] = payment.client_secret
    return view
