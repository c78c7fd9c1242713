"""PUT /api/v1/users/me: update name, phone and shipping addresses (fields left out are kept)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.identity.profiles import to_view, update_profile
from functions.identity.schemas import UpdateProfileRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())
UpdateProfileRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.put("/api/v1/users/me")
def update_me(body: Annotated[UpdateProfileRequest, Body()]):
    principal = app.principal
    return ok(app, {**to_view(update_profile(principal, body)), "roles": sorted(principal.roles)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
