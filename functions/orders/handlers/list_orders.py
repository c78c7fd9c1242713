"""GET /api/v1/orders: the signed-in user's orders, newest first, paginated."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.views import order_view, payments_of
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.get("/api/v1/orders")
def list_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    orders, next_cursor = store.list_for_user(app.principal.user_id, limit, cursor)
    event = app.current_event.raw_event
    payments = payments_of(orders)
    items = [order_view(order, event, payments.get(order.payment.get("payment_id", ""))) for order in orders]
    return ok(app, {"items": items, "next_cursor": next_cursor})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
