"""Undoing an order that will not be fulfilled: stock back, money back, the saga told to stop.

Used by the saga's compensation, by PUT /orders/{id}/cancel, and by the settler that watches
the orders stream for CANCELLED and FAILED orders (the guarantee: if a handler dies right after
cancelling, the stream record still settles the order). Every step is idempotent, so these may
run in any order and any number of times.
"""

from __future__ import annotations

from typing import Any

from functions.orders import store
from functions.orders.domain import CANCELLED, FAILED, Order
from shared.observability import logger
from shared.tables import error_code


def return_stock(order: Order) -> None:
    from functions.cart import checkout_claims
    from functions.inventory.orders import OrderLine, return_order_stock

    return_order_stock(order.order_id, [OrderLine(line.sku_id, line.quantity) for line in order.items], order.hold_ids)
    if order.cart_id:
        checkout_claims.release(order.cart_id, order.order_id)  # the cart may be checked out again


def refund(order: Order) -> Any:
    from functions.payments import flow
    from functions.payments import store as payments

    return flow.refund_if_captured(payments.payment_id_for(order.order_id))


def stop_waiting(task_token: str | None, cause: str) -> None:
    """Fail the saga's payment wait (it then compensates), if it is still waiting."""
    if not task_token:
        return
    from functions.payments.flow import SPENT_TOKEN, step_functions

    try:
        step_functions().send_task_failure(taskToken=task_token, error="OrderCancelled", cause=cause)
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) not in SPENT_TOKEN:
            raise


def settle(order_id: str) -> Order | None:
    """Settle a CANCELLED or FAILED order completely (a no-op for any other status)."""
    from functions.payments import store as payments

    order = store.get(order_id)
    if order is None or order.status not in (CANCELLED, FAILED):
        return order
    return_stock(order)
    refund(order)
    payment = payments.get(payments.payment_id_for(order_id))
    if payment is not None:
        stop_waiting(payment.task_token, f"order {order_id} was cancelled")
    logger.info("order settled", extra={"order_id": order_id, "status": order.status})
    return order
