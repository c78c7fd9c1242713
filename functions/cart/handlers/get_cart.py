"""GET /api/v1/cart: the guest's (X-Cart-Token) or the signed-in user's cart."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.cart import carts, owner
from shared.errors import NotFound
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(optional_sign_in=True)


@app.get("/api/v1/cart")
def get_cart():
    ref, _ = owner.resolve(app.current_event.raw_event)
    if ref is None:  # a guest who has added nothing yet
        return ok(app, {"cart_id": None, "items": [], "subtotal": 0, "currency": None, "price_may_have_changed": False})
    cart = carts.load(ref)
    if ref.is_guest and not cart.exists:
        raise NotFound("No such cart.")
    return ok(app, carts.view(cart))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
