"""POST /api/v1/cart/items: add a SKU, reserving its stock first (409 OUT_OF_STOCK, cart unchanged).

A guest's first add creates the cart and answers its token in the X-Cart-Token header.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.cart import carts, owner
from functions.cart.schemas import AddItemRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(optional_sign_in=True)


@app.post("/api/v1/cart/items")
def add_item(body: Annotated[AddItemRequest, Body()]):
    ref, new_token = owner.resolve(app.current_event.raw_event, create_guest=True)
    assert ref is not None
    # A guest's own token must name a live cart (not one we never issued, or one that expired).
    cart = carts.add(ref, body.sku_id, body.quantity, must_exist=ref.is_guest and new_token is None)
    headers = {owner.TOKEN_HEADER: new_token} if new_token else None
    return ok(app, carts.view(cart), status=201 if new_token else 200, headers=headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
