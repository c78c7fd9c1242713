"""GET /api/v1/products/{product_id}: the product page (seller, rating, per-SKU availability)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.products import get_product, to_view
from functions.inventory.stock import availability
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


@app.get("/api/v1/products/<product_id>")
def product_page(product_id: str):
    item = get_product(product_id)
    # One BatchGetItem for all SKUs, never one call per SKU.
    stock = availability([sku.sku_id for sku in item.skus or []])
    return ok(app, to_view(item, stock))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
