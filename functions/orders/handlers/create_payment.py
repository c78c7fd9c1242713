"""POST /api/v1/payments {order_id} (Idempotency-Key required): the order's payment intent.

The checkout saga creates each order's one payment; this answers it to the order's owner (for a
client that lost the POST /orders answer). It is the orders service's route: the order decides who
may ask (another user's order is a 404) and says why there is no payment yet (409 INVALID_STATE
with the order's status); the payment comes from payments' api (payments never reads orders, ADR 0039)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from functions.orders import store
from functions.payments import api as payments
from shared import idempotency
from shared.errors import InvalidState
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
    order = store.get_owned(body.order_id, principal.user_id, principal.is_admin)
    payment = payments.get_payment(payments.payment_id_for(order.order_id))
    if payment is None or payment.provider_ref is None:  # the saga has not made its intent (yet)
        raise InvalidState(f"The order is {order.status}; it has no payment yet.", {"order_id": order.order_id, "status": order.status})
    claim = idempotency.claim(
        store.table(), "payments", principal.user_id, key,
        idempotency.request_hash("POST", "/api/v1/payments", body.model_dump(mode="json")), payment.payment_id,
    )
    if claim.replay is not None:
        first = claim.replay
        return Response(first["status"], JSON, first["body"], {**first["headers"], "Idempotent-Replayed": "true"})
    response = ok(app, payments.payment_view(payment, event), status=201, headers={"Location": f"/api/v1/payments/{payment.payment_id}"})
    idempotency.complete(claim, response.status_code, response.body, dict(response.headers or {}))
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
