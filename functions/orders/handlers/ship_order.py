"""PUT /api/v1/seller/orders/{order_id}/ship: the seller ships their part of a CONFIRMED order
({carrier, tracking_number}); the order is SHIPPED once every seller has. The answer is the
seller's view (their own lines and shipment, never the order's total, payment or other sellers'
lines). An order without the caller's items is a 404, one that is not CONFIRMED a 409."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.schemas import ShipOrderRequest
from functions.orders.views import seller_order_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller",))


@app.put("/api/v1/seller/orders/<order_id>/ship")
def ship_order(order_id: str, body: Annotated[ShipOrderRequest, Body()]):
    seller_id = app.principal.user_id
    order = store.ship(store.get_sellers_order(order_id, seller_id), seller_id, body.carrier, body.tracking_number)
    return ok(app, seller_order_view(store.get_part(order_id, seller_id) or {}, order))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
