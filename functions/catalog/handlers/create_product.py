"""POST /api/v1/products: a seller (or admin) lists a product with its SKUs."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.products import create_product, to_view
from functions.catalog.schemas import CreateProductRequest
from functions.identity.api import get_profile
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("seller", "admin"))
CreateProductRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/products")
def create(body: Annotated[CreateProductRequest, Body()]):
    seller = app.principal
    seller_name = get_profile(seller.user_id, seller.roles).name  # identity's module API, not its table
    item = create_product(body, seller, seller_name)
    return ok(app, to_view(item), status=201, headers={"Location": f"/api/v1/products/{item.product_id}"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
