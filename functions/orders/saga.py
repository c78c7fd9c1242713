"""The checkout saga's steps and their decisions (docs/decisions/0014-checkout-saga-design.md):
one function per Step Functions task (the Lambda handlers: functions/orders/consumers/saga.py;
the state machine: infra/checkout.py).

Each step takes `{"order_id": ...}` (plus what the state machine adds: the task token, the caught
error) and reads everything else from the order, so a retried step sees what the first attempt
did and finishes it instead of doing it twice. Business refusals raise CheckoutRejected (never
retried: the saga fails the order with its code); anything else is retried with back-off and
jitter, then caught into compensation (cancel_order -> release_stock -> refund_if_captured).

Every step takes `ports` (functions/orders/ports.py): the orders table and the api modules of
cart, catalog, inventory and payments, the real ones by default; tests give in-memory fakes
(tests/orders/test_saga_decisions.py).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

from functions.orders import settlement
from functions.orders.domain import CANCELLED, CONFIRMED, FAILED, PENDING_PAYMENT, PROCESSING, Line
from functions.orders.ports import REAL, Ports
from shared import metrics
from shared.errors import DomainError, InvalidState, OutOfStock
from shared.metrics import CHECKOUT_COMPENSATIONS
from shared.observability import logger

HOLD_MARGIN_SECONDS = 300  # the order's holds outlive the payment window: the saga releases them, not expiry


class CheckoutRejected(Exception):
    """The checkout cannot go on as asked (empty cart, changed prices, no stock): the order FAILS
    with this code. The message is JSON {code, message, details}: Step Functions carries it."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(json.dumps({"code": code, "message": message, "details": details or {}}))


class OrderNotPayable(Exception):
    """The order left PENDING_PAYMENT (cancelled) before the payment confirmed it."""


def payment_window_seconds() -> int:
    return int(os.environ.get("PAYMENT_WINDOW_SECONDS", "900"))


def _window(event: dict[str, Any]) -> int:
    return int(event.get("payment_window_seconds") or payment_window_seconds())


# -- forward steps ------------------------------------------------------------------------------


def validate_cart(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """Snapshot the cart into the order, re-verifying every price against the catalog: a price
    that changed fails the checkout with the new prices (which the cart takes on, so the shopper
    sees them and can check out again)."""
    orders, cart, catalog = ports.store, ports.cart, ports.catalog
    order = orders.require(event["order_id"])
    if order.status != PROCESSING or order.items:
        return {"order_id": order.order_id}
    basket = cart.load_cart(cart.CartRef(order.cart_id, f"user:{order.user_id}"))
    if not basket.lines:
        raise CheckoutRejected("CART_EMPTY", "The cart is empty.")
    try:
        # verified now, read consistently: neither a last-known price (ADR 0027) nor one a
        # seller changed a moment ago is charged. Fails fast (timeout budget, circuit breaker)
        # and is not retried: POST /orders answers 503 at once.
        infos = catalog.verified_prices(list(basket.lines), consistent=True)
    except catalog.CatalogUnavailable as exc:
        raise CheckoutRejected(exc.code, exc.message, exc.details) from None
    missing = sorted(set(basket.lines) - set(infos))
    if missing:
        raise CheckoutRejected("SKU_UNAVAILABLE", "Some items are no longer sold; remove them from the cart.", {"sku_ids": missing})
    if len({info.currency for info in infos.values()}) > 1:
        raise CheckoutRejected("MIXED_CURRENCIES", "The cart mixes currencies; check out one currency at a time.")
    changed = [
        {"sku_id": sku, "old_price": line.added_price, "new_price": infos[sku].price, "currency": infos[sku].currency}
        for sku, line in sorted(basket.lines.items())
        if infos[sku].price != line.added_price
    ]
    if changed:
        cart.accept_prices(basket.ref, {item["sku_id"]: item["new_price"] for item in changed})
        raise CheckoutRejected("PRICE_CHANGED", "Prices changed since the items were added; review the cart and check out again.", {"items": changed})
    lines = [
        Line(sku_id=sku, product_id=info.product_id, seller_id=info.seller_id, title=info.title, options=info.options,
             quantity=basket.lines[sku].quantity, unit_price=info.price, currency=info.currency)
        for sku, info in sorted(infos.items())
    ]
    orders.set_fields(order.order_id, {
        "items": [line.as_dict() for line in lines],
        "total": sum(line.quantity * line.unit_price for line in lines),
        "currency": lines[0].currency,
        "seller_ids": sorted({line.seller_id for line in lines}),
    }, PROCESSING)
    return {"order_id": order.order_id}


def reserve_stock(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """Move the cart's holds to the order, extended past the payment window, claiming the cart in
    the same transaction: a cart another live order has checked out is refused, never re-reserved
    (docs/decisions/0019-one-checkout-per-cart.md)."""
    orders, cart, inventory = ports.store, ports.cart, ports.inventory
    order = orders.require(event["order_id"])
    if order.status != PROCESSING:
        return {"order_id": order.order_id}
    lines = [inventory.OrderLine(line.sku_id, line.quantity) for line in order.items]
    expires_at = int(time.time()) + _window(event) + HOLD_MARGIN_SECONDS
    claim = cart.checkout_claim_write(order.cart_id, order.order_id, expires_at)
    try:
        hold_ids = inventory.hold_for_order(order.cart_id, order.order_id, lines, expires_at, also=[claim])
    except OutOfStock as exc:
        raise CheckoutRejected("OUT_OF_STOCK", exc.message, exc.details) from None
    except inventory.ConcurrentChange:
        raise CheckoutRejected(
            "CART_ALREADY_CHECKED_OUT",
            "This cart is already checked out by an order waiting for its payment; pay or cancel that order first.",
            {"pending_order_id": cart.checkout_claim_holder(order.cart_id)},
        ) from None
    orders.set_fields(order.order_id, {"hold_ids": hold_ids}, PROCESSING)
    return {"order_id": order.order_id}


def create_order(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """PROCESSING -> PENDING_PAYMENT, with the time the payment window closes."""
    deadline = datetime.fromtimestamp(time.time() + _window(event), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    order = ports.store.require(event["order_id"])
    if order.status == PROCESSING:
        ports.store.transition(order.order_id, PENDING_PAYMENT, fields={"payment_deadline": deadline})
    return {"order_id": order.order_id}


def create_payment_intent(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """The order's one payment and its intent at the provider (both idempotent on the order)."""
    orders = ports.store
    order = orders.require(event["order_id"])
    if order.status != PENDING_PAYMENT:
        raise OrderNotPayable(f"order {order.order_id} is {order.status}")
    payment = ports.payments.open_payment(order.order_id, order.user_id, order.total, order.currency or "")
    # Which payment, not its status: the order's views read the status from the payment itself.
    orders.set_fields(order.order_id, {"payment": {"payment_id": payment.payment_id, "provider": payment.provider}}, PENDING_PAYMENT)
    return {"order_id": order.order_id, "payment_id": payment.payment_id}


def await_payment(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """Hand the task token to the payment; the webhook answers it. If the outcome arrived before
    the token was stored, the payment answers it now; if the order was cancelled meanwhile, the
    wait is failed here: nothing can arrive "too early"."""
    orders, payments = ports.store, ports.payments
    order = orders.require(event["order_id"])
    payment, answered = payments.hand_task_token(payments.payment_id_for(order.order_id), event["task_token"])
    if answered:
        return {"answered": payment.status}
    if orders.require(order.order_id).status != PENDING_PAYMENT:
        settlement.stop_waiting(payment.task_token, "order is no longer waiting for its payment", ports)
        return {"answered": "cancelled"}
    return {"waiting": payment.payment_id}


def confirm_order(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """PENDING_PAYMENT -> CONFIRMED (with the sellers' parts and the buyer's purchases). A
    cancellation that got there first wins: the saga compensates (and refunds)."""
    orders = ports.store
    order = orders.require(event["order_id"])
    try:
        orders.transition(order.order_id, CONFIRMED, also=orders.confirmation_writes(order))
    except InvalidState as exc:
        raise OrderNotPayable(exc.message) from None
    return {"order_id": order.order_id}


def commit_stock(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """The order's holds become sales, only while the order is CONFIRMED. A hold that ended some
    other way raises the inventory's StockLost (never retried: the saga compensates)."""
    orders, inventory = ports.store, ports.inventory
    order = orders.require(event["order_id"])
    lines = [inventory.OrderLine(line.sku_id, line.quantity) for line in order.items]
    try:
        inventory.commit_order(order.order_id, lines, order.hold_ids, orders.status_check(order.order_id, CONFIRMED))
    except inventory.ConcurrentChange:
        raise OrderNotPayable(f"order {order.order_id} is no longer CONFIRMED") from None
    return {"order_id": order.order_id}


def clear_cart(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """Take the bought quantities out of the cart (what was added since stays)."""
    cart = ports.cart
    order = ports.store.require(event["order_id"])
    cart.remove_ordered(cart.CartRef(order.cart_id, f"user:{order.user_id}"), order.order_id,
                        {line.sku_id: line.quantity for line in order.items})
    cart.release_checkout_claim(order.cart_id, order.order_id)  # what it held is out of the cart now
    return {"order_id": order.order_id}


# -- compensation -------------------------------------------------------------------------------

# The errors that end a checkout by design, never retried (infra/checkout.py NOT_RETRIED).
BUSINESS_OUTCOMES = frozenset({"CheckoutRejected", "OrderNotPayable", "PaymentFailed", "OrderCancelled", "StockLost", "States.Timeout"})
REASONS = {
    "States.Timeout": "PAYMENT_WINDOW_ELAPSED",
    "PaymentFailed": "PAYMENT_FAILED",
    "OrderCancelled": "CANCELLED",
    "OrderNotPayable": "CANCELLED",
    "StockLost": "STOCK_UNAVAILABLE",
}


def failure_of(error: dict[str, Any]) -> dict[str, Any]:
    """{code, message, details} of the caught error (Step Functions' {Error, Cause})."""
    name = str(error.get("Error") or "CheckoutError")
    cause = error.get("Cause") or ""
    try:
        envelope = json.loads(cause)
        message = envelope.get("errorMessage", cause) if isinstance(envelope, dict) else cause
    except (TypeError, ValueError):
        message = cause
    if name == "CheckoutRejected":
        try:
            return json.loads(message)
        except (TypeError, ValueError):
            pass
    return {"code": REASONS.get(name, "CHECKOUT_ERROR"), "message": str(message)[:500] or name, "details": {}}


def cancel_order(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    """The decision to undo: a checkout that never reached payment FAILS with its reason, one
    waiting for or past payment is CANCELLED. An order already there stays as it is."""
    orders = ports.store
    order = orders.require(event["order_id"])
    error = event.get("error") or {}
    failure = failure_of(error)
    changed = False
    try:
        if order.status == PROCESSING:
            order, changed = orders.transition(order.order_id, FAILED, reason=failure["code"], fields={"failure": failure})
        elif order.status in (PENDING_PAYMENT, CONFIRMED):
            order, changed = orders.cancel(order, failure["code"])
    except DomainError as exc:
        logger.warning("order not cancelled", extra={"order_id": order.order_id, "reason": exc.message})
        order = orders.require(order.order_id)
    if order.status not in (CANCELLED, FAILED):
        # Shipped meanwhile (the only way out): nothing to undo; the steps below must not run.
        raise RuntimeError(f"order {order.order_id} is {order.status}; refusing to compensate")
    if changed:  # once per order, not per retry of this step
        # A refusal (out of stock, payment declined...) is the saga working; a step that failed all
        # its retries is an incident: infra/monitoring.py alarms on Cause=failed (ADR 0026).
        cause = "refused" if str(error.get("Error")) in BUSINESS_OUTCOMES else "failed"
        metrics.count(CHECKOUT_COMPENSATIONS, "Cause", cause)
    return {"order_id": order.order_id, "status": order.status, "code": failure["code"]}


def release_stock(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    settlement.return_stock(ports.store.require(event["order_id"]), ports)
    return {"order_id": event["order_id"]}


def refund_if_captured(event: dict[str, Any], ports: Ports = REAL) -> dict[str, Any]:
    payment = settlement.refund(ports.store.require(event["order_id"]), ports)
    return {"order_id": event["order_id"], "payment_status": payment.status if payment else None}
