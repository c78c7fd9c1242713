"""GET /api/v1/categories: the category tree (public)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.catalog.categories import category_tree
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


@app.get("/api/v1/categories")
def list_categories():
    return ok(app, category_tree())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
