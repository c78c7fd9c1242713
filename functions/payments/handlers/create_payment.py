"""POST /api/v1/payments {order_id} (Idempotency-Key required): the order's payment intent.

The checkout saga creates each order's one payment; this answers it to the order's owner (for a
client that lost the POST /orders answer), from the payment alone: it carries the order's id and
owner, and its id is derived from the order's (payments never reads the orders table, ADR 0039).
No payment for the order (none yet, no such order, another user's): 404; a payment whose intent
is not made yet: 409 INVALID_STATE."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from functions.payments import store
from functions.payments.views import payment_view
from shared import idempotency
from shared.errors import InvalidState, NotFound
from shared.http import JSON, create_app, ok
from shared.observability import logger

app = create_app(roles=())


class CreatePaymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(pattern=r"^ord_[0-9A-HJKMNP-TV-Z]{26}$")


@app.post("/api/v1/payments")
def create_payment(body: Annotated[CreatePaymentRequest, Body()]):
    event = app.current_event.raw_event
    key = idempotency.key_from_headers(event.get("headers"))
    principal = app.principal
    payment = store.get(store.payment_id_for(body.order_id))
    if payment is None or (payment.user_id != principal.user_id and not principal.is_admin):
        raise NotFound("No such order.")
    if payment.provider_ref is None:  # the saga is making its intent at the provider
        raise InvalidState("The order has no payment yet.", {"order_id": payment.order_id, "payment_id": payment.payment_id})
    claim = idempotency.claim(
        store.table(), "payments", principal.user_id, key,
        idempotency.request_hash("POST", "/api/v1/payments", body.model_dump(mode="json")), payment.payment_id,
    )
    if claim.replay is not None:
        first = claim.replay
        return Response(first["status"], JSON, first["body"], {**first["headers"], "Idempotent-Replayed": "true"})
    response = ok(app, payment_view(payment, event), status=201, headers={"Location": f"/api/v1/payments/{payment.payment_id}"})
    idempotency.complete(claim, response.status_code, response.body, dict(response.headers or {}))
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
