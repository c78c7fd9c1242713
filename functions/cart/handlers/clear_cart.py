"""DELETE /api/v1/cart: empty the cart and release every hold (204)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.cart import carts, owner
from shared.http import create_app, no_content
from shared.observability import logger

app = create_app(optional_sign_in=True)


@app.delete("/api/v1/cart")
def clear_cart():
    ref = owner.require_existing(owner.resolve(app.current_event.raw_event)[0])
    carts.clear(ref)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
