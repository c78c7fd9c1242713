"""POST /api/v1/orders: check out the signed-in user's cart (Idempotency-Key required).

201 with the payment page once the saga has one (usually within a second), 202 PROCESSING if
not yet (poll GET /orders/{id}), 409 with the reason if the checkout was refused (OUT_OF_STOCK,
PRICE_CHANGED with the new prices, CART_EMPTY...). Whatever the first answer was, a retry with
the same key and body gets it again, except a 503 CATALOG_UNAVAILABLE (prices could not be
verified): that answer is not kept, so a retry with the same key checks out afresh.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.cart import api as cart
from functions.orders import checkout, store
from functions.orders.domain import FAILED, PENDING_PAYMENT
from functions.orders.schemas import CreateOrderRequest
from functions.orders.views import order_view
from shared import idempotency
from shared.errors import Conflict, ServiceUnavailable
from shared.http import JSON, create_app, envelope_error, ok
from shared.ids import new_prefixed_id
from shared.observability import logger

app = create_app(roles=())
# Checkout failures that say "not now" rather than "not like this" (functions/orders/saga.py):
# answered 503 with Retry-After, and the key is released so a retry with it checks out again.
RETRYABLE_FAILURES = frozenset({"CATALOG_UNAVAILABLE"})


@app.post("/api/v1/orders")
def create_order(body: Annotated[CreateOrderRequest, Body()]):
    event = app.current_event.raw_event
    key = idempotency.key_from_headers(event.get("headers"))
    principal = app.principal
    request = body.model_dump(mode="json")
    cart_ref = cart.user_cart(principal)
    claim = idempotency.claim(
        store.table(), "orders", principal.user_id, key,
        idempotency.request_hash("POST", "/api/v1/orders", request), new_prefixed_id("ord"),
        also=lambda order_id: [store.new_order_put(order_id, principal.user_id, cart_ref.cart_id, request["shipping_address"])],
    )
    if claim.replay is not None:
        first = claim.replay
        return Response(first["status"], JSON, first["body"], {**first["headers"], "Idempotent-Replayed": "true"})
    checkout.start(claim.resource_id, principal.user_id, key)
    response = _answer(checkout.wait_until_payable(claim.resource_id), event)
    if response.status_code == ServiceUnavailable.status:
        idempotency.release(claim)  # "retry": the same key may start a new checkout
    else:
        idempotency.complete(claim, response.status_code, response.body, dict(response.headers or {}))
    return response


def _answer(order, event) -> Response:
    location = {"Location": f"/api/v1/orders/{order.order_id}"}
    if order.status == FAILED:
        failure = order.failure or {"code": order.reason or "CHECKOUT_FAILED", "message": "The checkout failed."}
        details = {**(failure.get("details") or {}), "order_id": order.order_id}
        if failure["code"] in RETRYABLE_FAILURES:  # nothing was wrong with the request: 503, retry later
            response = envelope_error(app, ServiceUnavailable.status, failure["code"], failure.get("message") or "Retry shortly.", details)
            response.headers["Retry-After"] = str(details.get("retry_after_seconds", 10))
            return response
        return envelope_error(app, Conflict.status, failure["code"], failure.get("message") or "The checkout failed.", details)
    if order.status == PENDING_PAYMENT and order.payment.get("payment_id"):
        return ok(app, order_view(order, event), status=201, headers=location)
    view = order_view(order, event)
    if order.status == PENDING_PAYMENT:
        view["status"] = "PROCESSING"  # not payable yet: to the client it is still being processed
    return ok(app, view, status=202, headers=location)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
