"""POST /api/v1/products/{product_id}/reviews: a buyer reviews a product, once.

`{rating: 1..5, title, body}` -> 201 the review. 403 unless the caller has a confirmed order of
the product (functions.orders.purchases), 404 unknown or deleted product, 409 ALREADY_EXISTS
for a second review by the same user. The product's rating moves in the same transaction.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.reviews.reviews import create_review, to_view
from functions.reviews.schemas import CreateReviewRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())  # any signed-in user; being a buyer is checked against orders
CreateReviewRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/products/<product_id>/reviews")
def create(product_id: str, body: Annotated[CreateReviewRequest, Body()]):
    return ok(app, to_view(create_review(product_id, body, app.principal)), status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
