"""POST /api/v1/categories: create a category (admin only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from functions.catalog.categories import create_category as create
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=("admin",))


def _has_letter_or_digit(name: str) -> str:
    """A name of only punctuation or symbols ("!!!", "—") has nothing to build its slug from."""
    if not any(char.isalnum() for char in name):
        raise ValueError("name must contain a letter or digit")
    return name


class CreateCategoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), AfterValidator(_has_letter_or_digit)
    ]
    parent_id: Annotated[str | None, Field(default=None, pattern=r"^cat_[0-9A-HJKMNP-TV-Z]{26}$")] = None


@app.post("/api/v1/categories")
def create_category(body: Annotated[CreateCategoryRequest, Body()]):
    category = create(body.name, body.parent_id, created_by=app.principal.user_id)
    return ok(app, {**category, "children": []}, status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
