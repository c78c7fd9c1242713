"""An order's payment and its intent at the provider: created by the checkout saga (through
functions/payments/api.py), both idempotent on the order (one payment per order, its id derived
from the order's; every provider call keyed on our payment id), so a retried step gets the same
payment and the same intent back."""

from __future__ import annotations

from functions.payments import store
from functions.payments.providers import PaymentRequest, provider


def open_payment(order_id: str, user_id: str, amount: int, currency: str) -> store.Payment:
    """The order's one payment, with its intent made at the stage's provider (`amount` in minor units)."""
    chosen = provider()
    payment = store.create(store.payment_id_for(order_id), order_id, user_id, amount, currency, chosen.name)
    if payment.provider_ref is None:
        intent = chosen.create_intent(PaymentRequest(payment.payment_id, order_id, payment.amount, payment.currency))
        payment = store.set_intent(payment, {
            "provider_ref": intent.provider_ref, "payment_path": intent.payment_path, "payment_url": intent.payment_url,
            "client_secret": intent.client_secret,
        })
    return payment
