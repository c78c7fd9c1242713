"""POST /api/v1/auth/refresh: a new access token from a refresh token."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.identity import cognito
from functions.identity.schemas import RefreshRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()
RefreshRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/auth/refresh")
def refresh(body: Annotated[RefreshRequest, Body()]):
    tokens = cognito.refresh(body.refresh_token)
    return ok(app, {"access_token": tokens["AccessToken"], "expires_in": tokens["ExpiresIn"], "token_type": "Bearer"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
