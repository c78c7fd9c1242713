"""GET /api/v1/products/{product_id}: the product page (seller, rating, per-SKU availability)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.product_cache import get_or_load
from functions.inventory.api import availability
from shared import metrics
from shared.http import create_app, ok
from shared.metrics import PRODUCT_CACHE_READS
from shared.observability import logger

app = create_app()


@app.get("/api/v1/products/<product_id>")
def product_page(product_id: str):
    # The product from the cache (cache-aside, invalidated by the catalog stream) ...
    view, cached = get_or_load(product_id, lambda: _load(product_id))
    metrics.count(PRODUCT_CACHE_READS, "Result", "hit" if cached else "miss")  # the 95% target (ADR 0016)
    # ... and availability for all its SKUs from the availability cache (projected from the
    # inventory stream): no DynamoDB call on a hit; one BatchGetItem when degraded, never one per SKU.
    stock = availability([sku["sku_id"] for sku in view["skus"]])
    for sku in view["skus"]:
        sku["availability"] = stock[sku["sku_id"]]
    return ok(app, view)


def _load(product_id: str) -> dict:
    # Only a cache miss reads the table: a cold start answered from the cache never builds the
    # DynamoDB client (shared/tables.py), nor imports the product logic.
    from functions.catalog.products import get_product, to_view

    return to_view(get_product(product_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
