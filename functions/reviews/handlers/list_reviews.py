"""GET /api/v1/products/{product_id}/reviews?limit=&cursor=: a product's reviews, newest first."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.reviews.reviews import MAX_LIST, list_reviews, to_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


@app.get("/api/v1/products/<product_id>/reviews")
def reviews(
    product_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    items, next_cursor = list_reviews(product_id, limit, cursor)
    return ok(app, {"items": [to_view(item) for item in items], "next_cursor": next_cursor})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
