"""DELETE /api/v1/products/{product_id}: soft delete by the owning seller or an admin -> 204."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.product_cache import forget
from functions.catalog.products import delete_product
from shared.http import create_app, no_content
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


@app.delete("/api/v1/products/<product_id>")
def delete(product_id: str):
    item = delete_product(product_id, app.principal)
    forget(product_id, item.version)  # a GET right after the DELETE is a 404, not the cached page
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
