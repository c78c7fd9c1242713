"""Undoing an order that will not be fulfilled: stock back, money back, the saga told to stop.

Used by the saga's compensation, by PUT /orders/{id}/cancel, and by the settler that watches
the orders stream for CANCELLED and FAILED orders (the guarantee: if a handler dies right after
cancelling, the stream record still settles the order). Every step is idempotent, so these may
run in any order and any number of times. The order is always CANCELLED or FAILED before its
payment is given up here: that ordering is what lets the payments service decide a late payment
on the payment alone (functions/payments/flow.py, ADR 0039).

Other services are reached through their api modules only (`ports`, functions/orders/ports.py).
"""

from __future__ import annotations

from typing import Any

from functions.orders.checkout import SPENT_TOKEN
from functions.orders.domain import CANCELLED, FAILED, Order
from functions.orders.ports import REAL, Ports
from shared.observability import logger
from shared.tables import error_code


def return_stock(order: Order, ports: Ports = REAL) -> None:
    inventory = ports.inventory
    inventory.return_order_stock(order.order_id, [inventory.OrderLine(line.sku_id, line.quantity) for line in order.items], order.hold_ids)
    if order.cart_id:
        ports.cart.release_checkout_claim(order.cart_id, order.order_id)  # the cart may be checked out again


def refund(order: Order, ports: Ports = REAL) -> Any:
    """Give the order's payment up: cancelled if not made yet, refunded if captured (idempotent)."""
    payments = ports.payments
    return payments.refund_if_captured(payments.payment_id_for(order.order_id))


def stop_waiting(task_token: str | None, cause: str, ports: Ports = REAL) -> None:
    """Fail the saga's payment wait (it then compensates), if it is still waiting."""
    if not task_token:
        return
    try:
        ports.step_functions().send_task_failure(taskToken=task_token, error="OrderCancelled", cause=cause)
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) not in SPENT_TOKEN:
            raise


def settle(order_id: str, ports: Ports = REAL) -> Order | None:
    """Settle a CANCELLED or FAILED order completely (a no-op for any other status)."""
    order = ports.store.get(order_id)
    if order is None or order.status not in (CANCELLED, FAILED):
        return order
    return_stock(order, ports)
    refund(order, ports)
    payment = ports.payments.get_payment(ports.payments.payment_id_for(order_id))
    if payment is not None:
        stop_waiting(payment.task_token, f"order {order_id} was cancelled", ports)
    logger.info("order settled", extra={"order_id": order_id, "status": order.status})
    return order
