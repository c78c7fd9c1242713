"""GET /api/v1/seller/orders: confirmed orders containing the seller's items, newest first
(each with only that seller's lines)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.views import seller_order_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


@app.get("/api/v1/seller/orders")
def list_seller_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    parts, next_cursor = store.list_for_seller(app.principal.user_id, limit, cursor)
    return ok(app, {"items": [seller_order_view(part, order) for part, order in parts], "next_cursor": next_cursor})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
