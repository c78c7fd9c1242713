"""What a payment outcome does, wherever it is learned (the webhook, or the saga storing its
task token after the webhook already came): resume the waiting checkout, or refund a payment
that arrived for an order that is no longer waiting for it.

The race between the checkout and the webhook is settled by two writes and two reads: the
webhook records the payment's status, then reads the order; the saga's compensation records
the order's cancellation, then reads the payment. Whichever runs second sees the other's write,
so a payment that lands after the window closed is always refunded (perhaps by both: refunds
are idempotent on the payment id)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from functions.payments import store
from functions.payments.providers import PaymentRequest, provider
from shared.attributes import now_iso
from shared.observability import logger
from shared.tables import error_code

# Errors that mean "this token is spent or gone": the saga already moved on.
SPENT_TOKEN = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist", "ExecutionDoesNotExist"}


@lru_cache(maxsize=1)
def step_functions() -> Any:
    import boto3

    from shared.aws import config

    return boto3.client("stepfunctions", config=config("stepfunctions"))


def resume_checkout(payment: store.Payment) -> bool:
    """Release the checkout waiting on this payment, if it is waiting and the outcome is final."""
    if not payment.task_token or payment.status not in (store.SUCCEEDED, store.FAILED):
        return False
    try:
        if payment.status == store.SUCCEEDED:
            step_functions().send_task_success(
                taskToken=payment.task_token, output=json.dumps({"payment_id": payment.payment_id, "status": payment.status})
            )
        else:
            step_functions().send_task_failure(
                taskToken=payment.task_token, error="PaymentFailed", cause=f"payment {payment.payment_id} failed"
            )
        return True
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) in SPENT_TOKEN:
            logger.info("checkout no longer waiting", extra={"payment_id": payment.payment_id, "error": error_code(exc)})
            return False
        raise


def refund_if_captured(payment_id: str) -> store.Payment | None:
    """Refund a captured payment (idempotent); a payment not yet made is cancelled instead, so a
    late capture is refunded on arrival."""
    payment = store.get(payment_id)
    if payment is None:
        return None
    if payment.status == store.PENDING:
        payment, _ = store.move(payment_id, store.CANCELED)
    if payment.status != store.SUCCEEDED:
        return payment
    refund_ref = provider(payment.provider).refund(
        PaymentRequest(payment.payment_id, payment.order_id, payment.amount, payment.currency), payment.provider_ref or ""
    )
    payment, _ = store.move(payment_id, store.REFUNDED, {"refund_ref": refund_ref, "refunded_total": payment.amount})
    logger.info("payment refunded", extra={"payment_id": payment_id, "order_id": payment.order_id})
    return payment


class UnknownPayment(Exception):
    """A genuine event about a payment we do not have (or not of this provider)."""


class EventMismatch(Exception):
    """A genuine event whose amount or currency is not the payment's: never confirm on it."""


def find_payment(provider_name: str, event: Any) -> store.Payment:
    """The payment a verified event is about: our metadata's payment id, else the provider's
    reference through its pointer item (a consistent read, never a possibly stale index). Both
    given: they must agree. Only a payment made through this provider."""
    payment = None
    if event.payment_id:
        payment = store.get(event.payment_id)
        if payment is not None and event.provider_ref and payment.provider_ref and payment.provider_ref != event.provider_ref:
            raise UnknownPayment(f"{event.provider_ref} is not the reference of {event.payment_id}")
    elif event.provider_ref:
        payment = store.find_by_provider_ref(provider_name, event.provider_ref)
    if payment is None or payment.provider != provider_name:
        raise UnknownPayment(f"no {provider_name} payment {event.payment_id or event.provider_ref}")
    return payment


def handle_event(provider_name: str, event: Any) -> str:
    """Apply a verified provider event exactly once in effect; returns what happened. Safe in any
    order and any number of times: every move is conditional on the payment's current status."""
    if not event.final:
        return "ignored"
    payment = find_payment(provider_name, event)
    if store.event_seen(provider_name, event.event_id, payment.payment_id):
        return "duplicate"
    if event.currency is not None and event.currency.upper() != payment.currency.upper():
        raise EventMismatch(f"{event.currency} is not the payment's {payment.currency}")
    if event.type == "payment.succeeded" and event.amount is not None and event.amount != payment.amount:
        raise EventMismatch(f"{event.amount} is not the payment's {payment.amount}")
    if event.type == "payment.refunded" and event.amount is not None and not 0 < event.amount <= payment.amount:
        raise EventMismatch(f"a refund of {event.amount} in total does not fit the payment's {payment.amount}")
    if event.type == "payment.succeeded":
        payment, _ = store.move(payment.payment_id, store.SUCCEEDED)
        outcome = _after_success(payment)
    elif event.type == "payment.failed":
        payment, _ = store.move(payment.payment_id, store.FAILED)
        resume_checkout(payment)
        outcome = payment.status
    else:
        total = payment.amount if event.amount is None else event.amount
        entry = {"amount": total - payment.refunded_total, "refunded_total": total, "source": "provider",
                 "event_id": event.event_id, "at": now_iso()}
        payment, _ = store.record_refunded_total(payment.payment_id, total, entry)
        sync_order_refunds(payment)
        partly = payment.status == store.SUCCEEDED and payment.refunded_total > 0
        outcome = "partially_refunded" if partly else payment.status
    store.remember_event(provider_name, event.event_id, payment.payment_id, event.type)
    return outcome


def sync_order_refunds(payment: store.Payment) -> None:
    """Tell the order what was refunded (the orders service writes its own table)."""
    if payment.refunded_total <= 0:
        return
    from functions.orders import refunds

    refunds.record(payment.order_id, payment.refunded_total, payment.amount, payment.refunds)


def _after_success(payment: store.Payment) -> str:
    """Money arrived: resume the checkout, or refund it if the order stopped waiting (the window
    closed, the buyer cancelled). Written status first, then the order read (see module doc)."""
    from functions.orders import store as orders
    from functions.orders.domain import PENDING_PAYMENT

    if payment.status != store.SUCCEEDED:
        return payment.status  # already refunded: a late duplicate
    order = orders.get(payment.order_id)
    if order is not None and order.status == PENDING_PAYMENT:
        resume_checkout(payment)
        return "succeeded"
    if order is not None and order.status in ("CANCELLED", "FAILED"):
        refund_if_captured(payment.payment_id)
        return "refunded"
    return "succeeded"  # confirmed already (a duplicate success)
