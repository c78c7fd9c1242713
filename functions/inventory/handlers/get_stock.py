"""GET /api/v1/inventory/{sku_id}: a SKU's stock counters (owning seller, admin)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.inventory.counters import read_stock
from functions.inventory.owners import owned_sku
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))


@app.get("/api/v1/inventory/<sku_id>")
def get_stock(sku_id: str):
    owned_sku(sku_id, app.principal)
    return ok(app, read_stock(sku_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
