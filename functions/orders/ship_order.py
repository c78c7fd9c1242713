"""PUT /api/v1/seller/orders/{order_id}/ship: the seller ships their part of a CONFIRMED order
({carrier, tracking_number}); the order is SHIPPED once every seller has. An order without the
caller's items is a 404, one that is not CONFIRMED a 409."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.orders import store
from functions.orders.model import CONFIRMED
from functions.orders.schemas import ShipOrderRequest
from functions.orders.views import order_view
from shared.errors import InvalidState, NotFound
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller",))


@app.put("/api/v1/seller/orders/<order_id>/ship")
def ship_order(order_id: str, body: Annotated[ShipOrderRequest, Body()]):
    seller_id = app.principal.user_id
    order = store.get(order_id) if order_id.startswith("ord_") else None
    if order is None or seller_id not in {line.seller_id for line in order.items}:
        raise NotFound("No such order.")
    if order.status != CONFIRMED and seller_id not in order.shipped_sellers:
        raise InvalidState(f"A {order.status} order cannot be shipped.", {"order_id": order_id, "status": order.status})
    order = store.ship(order, seller_id, body.carrier, body.tracking_number)
    view = order_view(order, app.current_event.raw_event)
    view["items"] = [line for line in view["items"] if line["seller_id"] == seller_id]
    return ok(app, view)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
