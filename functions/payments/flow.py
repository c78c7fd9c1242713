"""What a payment outcome does, wherever it is learned (the webhook, or the saga handing over its
task token after the webhook already came): resume the checkout waiting on the payment, or refund
money that arrived for an order that had already given its payment up.

Everything here is decided on the payment alone: the payments service sits below orders and never
reads or writes the orders table (docs/decisions/0039-payments-below-orders.md). The race between
the checkout and the webhook is settled on the payment item, which both sides write conditionally:

- an order that will not take its money (cancelled, its payment window elapsed, a failed step)
  has its payment given up by the orders service, always after the order's own cancellation:
  `refund_if_captured` cancels a pending payment (`canceled_at`) or refunds a captured one;
- the webhook moves the payment to `succeeded` from `pending` or `canceled`.

Whichever runs second sees the other's write: a success after the cancellation finds
`canceled_at` and is refunded at once; a cancellation after the success finds it `succeeded` and
refunds it. Refunds are idempotent on the payment id, so both may try. What the order should make
of a payment's change (a refund to record, money for an order that is gone) reaches the orders
service as an event, on the payments table's stream (functions/orders/consumers/settle_payments.py).

The flow's ports (the table, the provider, Step Functions) are the real ones by default; tests
give in-memory fakes (tests/payments/test_flow.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from functions.payments import store
from functions.payments.providers import PaymentProvider, PaymentRequest, provider
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


class PaymentStore(Protocol):
    """What the flow reads and writes of the payments table (functions/payments/store.py has it;
    every write there is conditional on the payment's current status or total)."""

    def get(self, payment_id: str) -> store.Payment | None: ...

    def update(self, payment_id: str, fields: dict[str, Any]) -> store.Payment: ...

    def move(self, payment_id: str, to: str, fields: dict[str, Any] | None = None) -> tuple[store.Payment, bool]: ...

    def find_by_provider_ref(self, provider: str, provider_ref: str) -> store.Payment | None: ...

    def event_seen(self, provider: str, event_id: str, payment_id: str) -> bool: ...

    def remember_event(self, provider: str, event_id: str, payment_id: str, event_type: str) -> bool: ...

    def record_refunded_total(self, payment_id: str, total: int, entry: dict[str, Any] | None = None) -> tuple[store.Payment, bool]: ...


@dataclass(frozen=True)
class Ports:
    """What the flow reads, writes and calls: the payments table (`PaymentStore`), the provider's
    adapter by name, a Step Functions client."""

    store: PaymentStore = store  # type: ignore[assignment] - the module is the protocol's implementation
    provider: Callable[..., PaymentProvider] = provider
    step_functions: Callable[[], Any] = step_functions


REAL = Ports()


def resume_checkout(payment: store.Payment, ports: Ports = REAL) -> bool:
    """Release the checkout waiting on this payment, if it is waiting and the outcome is final."""
    if not payment.task_token or payment.status not in (store.SUCCEEDED, store.FAILED):
        return False
    try:
        if payment.status == store.SUCCEEDED:
            ports.step_functions().send_task_success(
                taskToken=payment.task_token, output=json.dumps({"payment_id": payment.payment_id, "status": payment.status})
            )
        else:
            ports.step_functions().send_task_failure(
                taskToken=payment.task_token, error="PaymentFailed", cause=f"payment {payment.payment_id} failed"
            )
        return True
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) in SPENT_TOKEN:
            logger.info("checkout no longer waiting", extra={"payment_id": payment.payment_id, "error": error_code(exc)})
            return False
        raise


def hand_task_token(payment_id: str, task_token: str, ports: Ports = REAL) -> tuple[store.Payment, bool]:
    """Store the checkout's task token on the payment and, if the outcome is in already (the
    webhook came first), answer it now: nothing can arrive "too early". (payment, answered)."""
    payment = ports.store.update(payment_id, {"task_token": task_token})
    return payment, resume_checkout(payment, ports)


def refund_if_captured(payment_id: str, ports: Ports = REAL) -> store.Payment | None:
    """The order will not take this payment's money: refund a captured payment (idempotent); a
    payment not yet made is cancelled instead (`canceled_at`), so a late capture is refunded on
    arrival."""
    payment = ports.store.get(payment_id)
    if payment is None:
        return None
    if payment.status == store.PENDING:
        payment, _ = ports.store.move(payment_id, store.CANCELED, {"canceled_at": now_iso()})
    if payment.status != store.SUCCEEDED:
        return payment
    refund_ref = ports.provider(payment.provider).refund(
        PaymentRequest(payment.payment_id, payment.order_id, payment.amount, payment.currency), payment.provider_ref or ""
    )
    payment, _ = ports.store.move(payment_id, store.REFUNDED, {"refund_ref": refund_ref, "refunded_total": payment.amount})
    logger.info("payment refunded", extra={"payment_id": payment_id, "order_id": payment.order_id})
    return payment


class UnknownPayment(Exception):
    """A genuine event about a payment we do not have (or not of this provider)."""


class EventMismatch(Exception):
    """A genuine event whose amount or currency is not the payment's: never confirm on it."""


def find_payment(provider_name: str, event: Any, ports: Ports = REAL) -> store.Payment:
    """The payment a verified event is about: our metadata's payment id, else the provider's
    reference through its pointer item (a consistent read, never a possibly stale index). Both
    given: they must agree. Only a payment made through this provider."""
    payment = None
    if event.payment_id:
        payment = ports.store.get(event.payment_id)
        if payment is not None and event.provider_ref and payment.provider_ref and payment.provider_ref != event.provider_ref:
            raise UnknownPayment(f"{event.provider_ref} is not the reference of {event.payment_id}")
    elif event.provider_ref:
        payment = ports.store.find_by_provider_ref(provider_name, event.provider_ref)
    if payment is None or payment.provider != provider_name:
        raise UnknownPayment(f"no {provider_name} payment {event.payment_id or event.provider_ref}")
    return payment


def handle_event(provider_name: str, event: Any, ports: Ports = REAL) -> str:
    """Apply a verified provider event exactly once in effect; returns what happened. Safe in any
    order and any number of times: every move is conditional on the payment's current status."""
    if not event.final:
        return "ignored"
    payments = ports.store
    payment = find_payment(provider_name, event, ports)
    if payments.event_seen(provider_name, event.event_id, payment.payment_id):
        return "duplicate"
    if event.currency is not None and event.currency.upper() != payment.currency.upper():
        raise EventMismatch(f"{event.currency} is not the payment's {payment.currency}")
    if event.type == "payment.succeeded" and event.amount is not None and event.amount != payment.amount:
        raise EventMismatch(f"{event.amount} is not the payment's {payment.amount}")
    if event.type == "payment.refunded" and event.amount is not None and not 0 < event.amount <= payment.amount:
        raise EventMismatch(f"a refund of {event.amount} in total does not fit the payment's {payment.amount}")
    if event.type == "payment.succeeded":
        payment, _ = payments.move(payment.payment_id, store.SUCCEEDED)
        outcome = _after_success(payment, ports)
    elif event.type == "payment.failed":
        payment, _ = payments.move(payment.payment_id, store.FAILED)
        resume_checkout(payment, ports)
        outcome = payment.status
    else:
        # The order learns of it from the payments stream (functions/orders/consumers/settle_payments.py).
        total = payment.amount if event.amount is None else event.amount
        entry = {"amount": total - payment.refunded_total, "refunded_total": total, "source": "provider",
                 "event_id": event.event_id, "at": now_iso()}
        payment, _ = payments.record_refunded_total(payment.payment_id, total, entry)
        partly = payment.status == store.SUCCEEDED and payment.refunded_total > 0
        outcome = "partially_refunded" if partly else payment.status
    payments.remember_event(provider_name, event.event_id, payment.payment_id, event.type)
    return outcome


def _after_success(payment: store.Payment, ports: Ports) -> str:
    """Money arrived: refund it if the order had given the payment up (its cancellation got there
    first: `canceled_at`), else resume the checkout waiting on it. A checkout that stopped waiting
    otherwise (its window elapsed, the order was cancelled before it reached the payment) is
    compensated by the orders service, which then refunds the payment (see the module doc)."""
    if payment.status != store.SUCCEEDED:
        return payment.status  # already refunded: a late duplicate
    if payment.canceled_at:
        refund_if_captured(payment.payment_id, ports)
        return "refunded"
    resume_checkout(payment, ports)
    return "succeeded"
