"""The checkout saga's steps: one Lambda handler per Step Functions task (infra/checkout.py).

Each step takes `{"order_id": ...}` (plus what the state machine adds: the task token, the caught
error) and reads everything else from the order, so a retried step sees what the first attempt
did and finishes it instead of doing it twice. Business refusals raise CheckoutRejected (never
retried: the saga fails the order with its code); anything else is retried with back-off and
jitter, then caught into compensation (cancel_order -> release_stock -> refund_if_captured).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from functions.orders import settlement, store
from functions.orders.domain import CANCELLED, CONFIRMED, FAILED, PENDING_PAYMENT, PROCESSING, Line
from shared import metrics
from shared.errors import DomainError
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


# -- forward steps ------------------------------------------------------------------------------


@logger.inject_lambda_context
def validate_cart(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Snapshot the cart into the order, re-verifying every price against the catalog: a price
    that changed fails the checkout with the new prices (which the cart takes on, so the shopper
    sees them and can check out again)."""
    from functions.cart import carts
    from functions.catalog import prices

    order = store.require(event["order_id"])
    if order.status != PROCESSING or order.items:
        return {"order_id": order.order_id}
    cart = carts.load(carts.CartRef(order.cart_id, f"user:{order.user_id}"))
    if not cart.lines:
        raise CheckoutRejected("CART_EMPTY", "The cart is empty.")
    try:
        # verified now, read consistently: neither a last-known price (ADR 0027) nor one a
        # seller changed a moment ago is charged. Fails fast (timeout budget, circuit breaker)
        # and is not retried: POST /orders answers 503 at once.
        infos = prices.verified(list(cart.lines), consistent=True)
    except prices.CatalogUnavailable as exc:
        raise CheckoutRejected(exc.code, exc.message, exc.details) from None
    missing = sorted(set(cart.lines) - set(infos))
    if missing:
        raise CheckoutRejected("SKU_UNAVAILABLE", "Some items are no longer sold; remove them from the cart.", {"sku_ids": missing})
    if len({info.currency for info in infos.values()}) > 1:
        raise CheckoutRejected("MIXED_CURRENCIES", "The cart mixes currencies; check out one currency at a time.")
    changed = [
        {"sku_id": sku, "old_price": line.added_price, "new_price": infos[sku].price, "currency": infos[sku].currency}
        for sku, line in sorted(cart.lines.items())
        if infos[sku].price != line.added_price
    ]
    if changed:
        carts.accept_prices(cart.ref, {item["sku_id"]: item["new_price"] for item in changed})
        raise CheckoutRejected("PRICE_CHANGED", "Prices changed since the items were added; review the cart and check out again.", {"items": changed})
    lines = [
        Line(sku_id=sku, product_id=info.product_id, seller_id=info.seller_id, title=info.title, options=info.options,
             quantity=cart.lines[sku].quantity, unit_price=info.price, currency=info.currency)
        for sku, info in sorted(infos.items())
    ]
    store.set_fields(order.order_id, {
        "items": [line.as_dict() for line in lines],
        "total": sum(line.quantity * line.unit_price for line in lines),
        "currency": lines[0].currency,
        "seller_ids": sorted({line.seller_id for line in lines}),
    }, PROCESSING)
    return {"order_id": order.order_id}


@logger.inject_lambda_context
def reserve_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Move the cart's holds to the order, extended past the payment window, claiming the cart in
    the same transaction: a cart another live order has checked out is refused, never re-reserved
    (docs/decisions/0019-one-checkout-per-cart.md)."""
    from functions.cart import checkout_claims
    from functions.inventory.holds import ConcurrentChange
    from functions.inventory.orders import OrderLine, hold_for_order
    from shared.errors import OutOfStock

    order = store.require(event["order_id"])
    if order.status != PROCESSING:
        return {"order_id": order.order_id}
    window = int(event.get("payment_window_seconds") or payment_window_seconds())
    lines = [OrderLine(line.sku_id, line.quantity) for line in order.items]
    expires_at = int(time.time()) + window + HOLD_MARGIN_SECONDS
    claim = checkout_claims.claim_write(order.cart_id, order.order_id, expires_at)
    try:
        hold_ids = hold_for_order(order.cart_id, order.order_id, lines, expires_at, also=[claim])
    except OutOfStock as exc:
        raise CheckoutRejected("OUT_OF_STOCK", exc.message, exc.details) from None
    except ConcurrentChange:
        raise CheckoutRejected(
            "CART_ALREADY_CHECKED_OUT",
            "This cart is already checked out by an order waiting for its payment; pay or cancel that order first.",
            {"pending_order_id": checkout_claims.holder(order.cart_id)},
        ) from None
    store.set_fields(order.order_id, {"hold_ids": hold_ids}, PROCESSING)
    return {"order_id": order.order_id}


@logger.inject_lambda_context
def create_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """PROCESSING -> PENDING_PAYMENT, with the time the payment window closes."""
    from datetime import UTC, datetime

    window = int(event.get("payment_window_seconds") or payment_window_seconds())
    deadline = datetime.fromtimestamp(time.time() + window, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    order = store.require(event["order_id"])
    if order.status == PROCESSING:
        store.transition(order.order_id, PENDING_PAYMENT, fields={"payment_deadline": deadline})
    return {"order_id": order.order_id}


@logger.inject_lambda_context
def create_payment_intent(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The order's one payment and its intent at the provider (both idempotent on the order)."""
    from functions.payments import store as payments
    from functions.payments.providers import PaymentRequest, provider

    order = store.require(event["order_id"])
    if order.status != PENDING_PAYMENT:
        raise OrderNotPayable(f"order {order.order_id} is {order.status}")
    chosen = provider()
    payment = payments.create(payments.payment_id_for(order.order_id), order.order_id, order.user_id, order.total, order.currency or "", chosen.name)
    if payment.provider_ref is None:
        intent = chosen.create_intent(PaymentRequest(payment.payment_id, order.order_id, payment.amount, payment.currency))
        payment = payments.set_intent(payment, {
            "provider_ref": intent.provider_ref, "payment_path": intent.payment_path, "payment_url": intent.payment_url,
            "client_secret": intent.client_secret,
        })
    # Which payment, not its status: the order's views read the status from the payment itself.
    store.set_fields(order.order_id, {"payment": {"payment_id": payment.payment_id, "provider": payment.provider}}, PENDING_PAYMENT)
    return {"order_id": order.order_id, "payment_id": payment.payment_id}


@logger.inject_lambda_context
def await_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Hand the task token to the payment; the webhook answers it. If the outcome (or a cancel)
    arrived before the token was stored, answer it now: nothing can arrive "too early"."""
    from functions.payments import flow
    from functions.payments import store as payments

    order = store.require(event["order_id"])
    payment = payments.update(payments.payment_id_for(order.order_id), {"task_token": event["task_token"]})
    if flow.resume_checkout(payment):
        return {"answered": payment.status}
    if store.require(order.order_id).status != PENDING_PAYMENT:
        settlement.stop_waiting(payment.task_token, "order is no longer waiting for its payment")
        return {"answered": "cancelled"}
    return {"waiting": payment.payment_id}


@logger.inject_lambda_context
def confirm_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """PENDING_PAYMENT -> CONFIRMED (with the sellers' parts and the buyer's purchases). A
    cancellation that got there first wins: the saga compensates (and refunds)."""
    from shared.errors import InvalidState

    order = store.require(event["order_id"])
    try:
        store.transition(order.order_id, CONFIRMED, also=store.confirmation_writes(order))
    except InvalidState as exc:
        raise OrderNotPayable(exc.message) from None
    return {"order_id": order.order_id}


@logger.inject_lambda_context
def commit_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The order's holds become sales, only while the order is CONFIRMED."""
    from functions.inventory import holds
    from functions.inventory.orders import OrderLine, commit_order

    order = store.require(event["order_id"])
    lines = [OrderLine(line.sku_id, line.quantity) for line in order.items]
    try:
        commit_order(order.order_id, lines, order.hold_ids, store.status_check(order.order_id, CONFIRMED))
    except holds.ConcurrentChange:
        raise OrderNotPayable(f"order {order.order_id} is no longer CONFIRMED") from None
    return {"order_id": order.order_id}


@logger.inject_lambda_context
def clear_cart(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Take the bought quantities out of the cart (what was added since stays)."""
    from functions.cart import carts, checkout_claims

    order = store.require(event["order_id"])
    carts.remove_ordered(carts.CartRef(order.cart_id, f"user:{order.user_id}"), order.order_id,
                         {line.sku_id: line.quantity for line in order.items})
    checkout_claims.release(order.cart_id, order.order_id)  # what it held is out of the cart now
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


def _failure(error: dict[str, Any]) -> dict[str, Any]:
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


@logger.inject_lambda_context
def cancel_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The decision to undo: a checkout that never reached payment FAILS with its reason, one
    waiting for or past payment is CANCELLED. An order already there stays as it is."""
    order = store.require(event["order_id"])
    error = event.get("error") or {}
    failure = _failure(error)
    changed = False
    try:
        if order.status == PROCESSING:
            order, changed = store.transition(order.order_id, FAILED, reason=failure["code"], fields={"failure": failure})
        elif order.status in (PENDING_PAYMENT, CONFIRMED):
            order, changed = store.cancel(order, failure["code"])
    except DomainError as exc:
        logger.warning("order not cancelled", extra={"order_id": order.order_id, "reason": exc.message})
        order = store.require(order.order_id)
    if order.status not in (CANCELLED, FAILED):
        # Shipped meanwhile (the only way out): nothing to undo; the steps below must not run.
        raise RuntimeError(f"order {order.order_id} is {order.status}; refusing to compensate")
    if changed:  # once per order, not per retry of this step
        # A refusal (out of stock, payment declined...) is the saga working; a step that failed all
        # its retries is an incident: infra/monitoring.py alarms on Cause=failed (ADR 0026).
        cause = "refused" if str(error.get("Error")) in BUSINESS_OUTCOMES else "failed"
        metrics.count(CHECKOUT_COMPENSATIONS, "Cause", cause)
    return {"order_id": order.order_id, "status": order.status, "code": failure["code"]}


@logger.inject_lambda_context
def release_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settlement.return_stock(store.require(event["order_id"]))
    return {"order_id": event["order_id"]}


@logger.inject_lambda_context
def refund_if_captured(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payment = settlement.refund(store.require(event["order_id"]))
    return {"order_id": event["order_id"], "payment_status": payment.status if payment else None}
