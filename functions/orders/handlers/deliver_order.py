"""PUT /api/v1/seller/orders/{order_id}/deliver: the seller records that their shipment arrived;
the order is DELIVERED once every seller's has. Answers the seller's view, like /ship. An order
without the caller's items is a 404; a part not shipped yet (or a cancelled order) a 409."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.views import seller_order_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller",))


@app.put("/api/v1/seller/orders/<order_id>/deliver")
def deliver_order(order_id: str):
    seller_id = app.principal.user_id
    order = store.deliver(store.get_sellers_order(order_id, seller_id), seller_id)
    return ok(app, seller_order_view(store.get_part(order_id, seller_id) or {}, order))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
