"""What the payments service offers other services: an order's payment (the checkout saga creates
it and waits on it), refunds, and each change of a payment as an event on the payments stream.

The only module of functions/payments/ another service may import (.importlinter). Payments calls
no other service: it sits below orders and never imports it; what a payment's change means for an
order, the orders service learns from the stream (docs/decisions/0039-payments-below-orders.md).
Money is in minor units throughout.

  Payment, payment_id_for        a payment; the id of an order's one payment (derived from the order's)
  get_payment, get_payments      one payment, or many by id (strongly consistent reads)
  PENDING, SUCCEEDED, FAILED,    its statuses
  CANCELED, REFUNDED
  payment_link                   where the buyer pays (only while the payment can still be made)
  payment_view                   a payment's JSON shape (GET /payments/{id}, POST /payments)
  open_payment                   the order's payment and its intent at the provider (idempotent on the order)
  hand_task_token                the checkout's task token onto the payment, answered at once if the
                                 outcome is in already: (payment, answered)
  refund_if_captured             the order will not take the money: a pending payment is cancelled (a
                                 late capture is refunded on arrival), a captured one refunded (idempotent)
  refund, RefundInProgress       a refund asked for through the API: reserved on the payment, made at
                                 the provider, recorded; one in flight per payment
  PaymentChange, payment_change  a payments stream record as a change of a payment (None for any
                                 other record): `money_arrived`, `refunded_more`
"""

from __future__ import annotations

from functions.payments.flow import hand_task_token, refund_if_captured
from functions.payments.intents import open_payment
from functions.payments.refunds import refund
from functions.payments.store import (
    CANCELED,
    FAILED,
    PENDING,
    REFUNDED,
    SUCCEEDED,
    Payment,
    PaymentChange,
    RefundInProgress,
    payment_id_for,
)
from functions.payments.store import change_from_record as payment_change
from functions.payments.store import get as get_payment
from functions.payments.store import get_many as get_payments
from functions.payments.views import payment_link, payment_view

__all__ = [
    "CANCELED", "FAILED", "PENDING", "REFUNDED", "SUCCEEDED", "Payment", "PaymentChange", "RefundInProgress", "get_payment",
    "get_payments", "hand_task_token", "open_payment", "payment_change", "payment_id_for", "payment_link", "payment_view", "refund",
    "refund_if_captured",
]
