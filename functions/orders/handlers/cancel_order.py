"""PUT /api/v1/orders/{order_id}/cancel: from PENDING_PAYMENT, or CONFIRMED before anything
shipped (owner; admin: any); else 409 INVALID_STATE. The stock comes back and a captured payment
is refunded before the answer (and, should this function die first, by the settler that watches
the orders stream)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.orders import settlement, store
from functions.orders.domain import CONFIRMED, PENDING_PAYMENT
from functions.orders.views import order_view
from shared.errors import InvalidState
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.put("/api/v1/orders/<order_id>/cancel")
def cancel_order(order_id: str):
    principal = app.principal
    order = store.get_owned(order_id, principal.user_id, principal.is_admin)
    if order.status not in (PENDING_PAYMENT, CONFIRMED) or order.shipped_sellers:
        raise InvalidState(f"A {order.status} order cannot be cancelled.", {"order_id": order_id, "status": order.status})
    reason = "CANCELLED_BY_ADMIN" if principal.is_admin and order.user_id != principal.user_id else "CANCELLED_BY_CUSTOMER"
    store.cancel(order, reason)
    settled = settlement.settle(order_id) or store.require(order_id)
    return ok(app, order_view(settled, app.current_event.raw_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
