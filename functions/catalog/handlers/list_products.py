"""GET /api/v1/products?category=|seller=&limit=&cursor=: newest first, paginated."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.products import list_products, to_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


@app.get("/api/v1/products")
def list_(
    category: Annotated[str | None, Query(pattern=r"^cat_[0-9A-HJKMNP-TV-Z]{26}$")] = None,
    seller: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    items, next_cursor = list_products(category, seller, limit, cursor)
    return ok(app, {"items": [to_view(item) for item in items], "next_cursor": next_cursor})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
