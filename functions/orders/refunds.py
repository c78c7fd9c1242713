"""What a refund does to the order (docs/decisions/0017-refund-model.md), applied whenever the
payment's refunded total grows: from the payments stream (functions/orders/consumers/settle_payments.py:
a provider's refund event, any refund), and at once by POST /orders/{id}/refunds for the refund it
made (the stream's record then finds it applied). The payments service never writes the orders
table (docs/decisions/0039-payments-below-orders.md).

- The whole payment refunded: a paid order (CONFIRMED, SHIPPED, DELIVERED) becomes REFUNDED, in
  one transaction with deleting the buyer's purchase claims (as a cancellation does: reviews rely
  on them) and taking the sellers' parts out of the sellers' index (off `GET /seller/orders`).
- Less than the whole: the order records `refunded_total` and the `refunds` list.

Every write is conditional: on the status it moves from, and on the refunded total it replaces
being smaller (a late or repeated report never lowers the total or undoes a newer one).
"""

from __future__ import annotations

from typing import Any

from functions.orders import store
from functions.orders.domain import CANCELLED, PAID, REFUNDED, order_key, seller_key
from shared.attributes import to_attr
from shared.errors import InvalidState
from shared.observability import logger
from shared.tables import connection, is_condition_failure
from shared.transactions import retry_when_busy


def record(order_id: str, refunded_total: int, payment_amount: int, refunds: list[dict[str, Any]]) -> str:
    """Apply the payment's refunded total to the order; returns what happened."""
    order = store.get(order_id)
    if order is None:
        return "no-order"
    fields = {"refunded_total": refunded_total, "refunds": refunds}
    if refunded_total >= payment_amount and order.status in PAID:
        try:
            store.transition(order_id, REFUNDED, reason="REFUNDED", fields=fields, also=refund_writes(order))
            return REFUNDED
        except InvalidState:
            order = store.require(order_id)  # moved meanwhile (cancelled, or refunded already)
    if _raise_total(order_id, fields):
        return "recorded"
    return "unchanged"


def refund_writes(order: Any) -> list[dict[str, Any]]:
    """With the move to REFUNDED: no purchase any more, and no part left on a seller's list."""
    unlisted = [
        {"Update": {
            "TableName": store.table(), "Key": seller_key(order.order_id, seller_id),
            "UpdateExpression": "REMOVE gsi2pk, gsi2sk", "ConditionExpression": "attribute_exists(pk)",
        }}
        for seller_id in order.seller_ids
    ]
    return [*store.cancellation_writes(order), *unlisted]


def _raise_total(order_id: str, fields: dict[str, Any]) -> bool:
    """The refund amounts on the order, only ever upwards, on an order that was paid."""
    statuses = (*PAID, CANCELLED, REFUNDED)
    try:
        retry_when_busy(lambda: connection().client.update_item(  # a cancel's transaction may be in flight on it
            TableName=store.table(), Key=order_key(order_id),
            UpdateExpression="SET refunded_total = :total, refunds = :refunds, version = version + :one",
            ConditionExpression=(
                f"(attribute_not_exists(refunded_total) OR refunded_total < :total) "
                f"AND #status IN ({', '.join(f':s{i}' for i in range(len(statuses)))})"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":total": to_attr(fields["refunded_total"]), ":refunds": to_attr(fields["refunds"]), ":one": to_attr(1),
                **{f":s{i}": to_attr(status) for i, status in enumerate(statuses)},
            },
        ))
        return True
    except Exception as exc:
        if is_condition_failure(exc):
            logger.info("order refund total unchanged", extra={"order_id": order_id, "refunded_total": fields["refunded_total"]})
            return False
        raise
