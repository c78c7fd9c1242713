"""PUT /api/v1/products/{product_id}: partial update by the owning seller or an admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.product_cache import forget
from functions.catalog.products import to_view, update_product
from functions.catalog.schemas import UpdateProductRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))
UpdateProductRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.put("/api/v1/products/<product_id>")
def update(product_id: str, body: Annotated[UpdateProductRequest, Body()]):
    item = update_product(product_id, body, app.principal)
    forget(product_id, item.version)  # the writer's next GET must not be the cached old page
    return ok(app, to_view(item))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
