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
from functions.orders.domain import CANCELLED, PAID, REFUNDED
from shared.errors import InvalidState
from shared.observability import logger


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
    return [*store.cancellation_writes(order), *store.unlisting_writes(order)]


def _raise_total(order_id: str, fields: dict[str, Any]) -> bool:
    """The refund amounts on the order, only ever upwards, on an order that was paid."""
    if store.raise_refunded_total(order_id, fields["refunded_total"], fields["refunds"], (*PAID, CANCELLED, REFUNDED)):
        return True
    logger.info("order refund total unchanged", extra={"order_id": order_id, "refunded_total": fields["refunded_total"]})
    return False
