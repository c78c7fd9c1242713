"""POST /api/v1/orders/{order_id}/refunds {amount?, reason} (Idempotency-Key required): refund a
paid order, whole or in part, through the payment provider (docs/decisions/0017-refund-model.md).

An admin may refund anything left; a seller only up to the value of their own lines (less what
they refunded already), and only on an order with their lines (anyone else's: 404). No amount:
all that the caller may refund. The whole payment refunded makes the order REFUNDED. 409
INVALID_STATE for an order that was not paid (or is refunded already), REFUND_EXCEEDS_REFUNDABLE
for more than may be refunded, REFUND_IN_PROGRESS while another refund of the order is in flight.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from functions.orders import refunds, store
from functions.orders.domain import PAID
from functions.orders.views import order_view
from functions.payments import api as payments
from shared import idempotency
from shared.errors import Conflict, InvalidState, NotFound
from shared.http import JSON, create_app, envelope_error, ok
from shared.ids import new_prefixed_id
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


class RefundOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount: int | None = Field(default=None, ge=1, le=10**12, description="Minor units; omitted: all the caller may refund")
    reason: str = Field(min_length=1, max_length=500)


class RefundExceedsRefundable(Conflict):
    code = "REFUND_EXCEEDS_REFUNDABLE"


class RefundInProgress(Conflict):
    code = "REFUND_IN_PROGRESS"


@app.post("/api/v1/orders/<order_id>/refunds")
def refund_order(order_id: str, body: Annotated[RefundOrderRequest, Body()]):
    event = app.current_event.raw_event
    key = idempotency.key_from_headers(event.get("headers"))
    principal = app.principal
    order = store.get(order_id) if order_id.startswith("ord_") else None
    seller_id = None if principal.is_admin else principal.user_id
    if order is None or (seller_id and seller_id not in order.seller_ids):
        raise NotFound("No such order.")
    claim = idempotency.claim(
        store.table(), "refunds", principal.user_id, key,
        idempotency.request_hash("POST", f"/api/v1/orders/{order_id}/refunds", body.model_dump(mode="json")), new_prefixed_id("rfd"),
    )
    if claim.replay is not None:
        first = claim.replay
        return Response(first["status"], JSON, first["body"], {**first["headers"], "Idempotent-Replayed": "true"})
    try:
        response = _refund(order_id, order, seller_id, body, claim.resource_id, event)
    except (InvalidState, RefundExceedsRefundable) as exc:  # decided by the order's state: the key's answer from now on
        response = envelope_error(app, exc.status, exc.code, exc.message, exc.details)
    idempotency.complete(claim, response.status_code, response.body, dict(response.headers or {}))
    return response


def _refund(order_id: str, order, seller_id: str | None, body: RefundOrderRequest, key: str, event: dict) -> Response:
    principal = app.principal
    payment = payments.get_payment(payments.payment_id_for(order_id))
    resuming = payment is not None and (payment.refund_pending or {}).get("key") == key
    if not resuming:
        if order.status not in PAID or payment is None or payment.status != payments.SUCCEEDED:
            raise InvalidState(f"A {order.status} order cannot be refunded.", {"order_id": order_id, "status": order.status})
        refundable = payment.amount - payment.refunded_total
        if seller_id:
            own = sum(line.quantity * line.unit_price for line in order.items if line.seller_id == seller_id)
            refunded = sum(int(entry.get("amount", 0)) for entry in payment.refunds if entry.get("seller_id") == seller_id)
            refundable = min(refundable, own - refunded)
        amount = refundable if body.amount is None else body.amount
        if refundable <= 0 or amount > refundable:
            raise RefundExceedsRefundable(
                f"At most {max(refundable, 0)} may be refunded.", {"order_id": order_id, "refundable": max(refundable, 0)}
            )
    else:
        amount = int(payment.refund_pending["amount"])
    by = {"reason": body.reason, "by": principal.user_id, **({"seller_id": seller_id} if seller_id else {})}
    try:
        payment, entry = payments.refund(payment, key, amount, by)
    except payments.RefundInProgress:
        raise RefundInProgress("Another refund of this order is in progress; retry shortly.", {"order_id": order_id}) from None
    # The order follows at once (the payments stream tells it too, and then finds it done).
    refunds.record(order_id, payment.refunded_total, payment.amount, payment.refunds)
    logger.info("order refunded", extra={"order_id": order_id, "amount": amount, "by": principal.user_id})
    view = order_view(store.require(order_id), event, payment)
    if seller_id:  # a seller sees their own lines only, not the buyer's payment or other sellers' lines
        view = {"order_id": view["order_id"], "status": view["status"], "refunded_total": payment.refunded_total,
                "items": [line for line in view["items"] if line["seller_id"] == seller_id]}
    return ok(app, {"refund": {**entry, "refund_id": key}, "order": view}, status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
