"""PUT /api/v1/cart/items/{sku_id}: set a line's quantity; its hold moves by the difference."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths

from functions.cart import carts, owner
from functions.cart.schemas import UpdateItemRequest
from functions.catalog.api import SkuId
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(optional_sign_in=True)


@app.put("/api/v1/cart/items/<sku_id>")
def update_item(sku_id: Annotated[SkuId, Path()], body: Annotated[UpdateItemRequest, Body()]):
    ref = owner.require_existing(owner.resolve(app.current_event.raw_event)[0])
    return ok(app, carts.view(carts.set_quantity(ref, sku_id, body.quantity)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
