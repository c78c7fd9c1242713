"""Payments stream consumer: what happened to an order's money reaches the order here. The
payments service sits below orders and never reads or writes the orders table
(docs/decisions/0039-payments-below-orders.md); each change of a payment is an event on its
table's stream, read through functions/payments/api.py `payment_change`.

- The payment's refunded total grew (a provider's refund event, a refund through the API, the
  refund of a cancelled order): the order records it, and a paid order wholly refunded becomes
  REFUNDED (functions/orders/refunds.py: conditional on the status it leaves and on the total
  only growing).
- Money arrived for an order that no longer waits for it (CANCELLED, FAILED, or no such order):
  it goes back (payments' `refund_if_captured`, idempotent on the payment). The payment usually
  did that itself already (the order had cancelled it), or the order's own settlement does; this
  is the guarantee for whatever raced past both.

Every action is conditional or idempotent, so a record delivered twice, late, or re-driven from the
failure queue after newer ones changes nothing more.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.orders import refunds, store
from functions.orders.domain import CANCELLED, FAILED
from functions.payments import api as payments
from shared.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def settle_change(change: payments.PaymentChange) -> list[str]:
    """Apply one change of a payment to its order; returns what was done (for the log and tests)."""
    done = []
    if change.refunded_more:
        done.append(f"refund:{refunds.record(change.order_id, change.refunded_total, change.amount, change.refunds)}")
    if change.money_arrived:
        order = store.get(change.order_id)
        if order is None or order.status in (CANCELLED, FAILED):
            payment = payments.refund_if_captured(change.payment_id)
            done.append(f"late-payment:{payment.status if payment else None}")
    return done


def _settle(record: DynamoDBRecord) -> None:
    change = payments.payment_change(record.raw_event)
    if change is None:
        return
    done = settle_change(change)
    if done:
        logger.info("payment change applied", extra={"order_id": change.order_id, "payment_id": change.payment_id, "done": done})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_settle, processor=processor, context=context)
