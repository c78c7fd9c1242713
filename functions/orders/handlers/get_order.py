"""GET /api/v1/orders/{order_id}: the order with its status history (owner; admin: any)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.views import order_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.get("/api/v1/orders/<order_id>")
def get_order(order_id: str):
    principal = app.principal
    order = store.get_owned(order_id, principal.user_id, principal.is_admin)
    return ok(app, order_view(order, app.current_event.raw_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
