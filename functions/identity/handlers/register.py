"""POST /api/v1/auth/register: a customer or seller account (admins are never self-registered)."""

from __future__ import annotations

import os
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.identity import cognito
from functions.identity.profiles import create_profile
from functions.identity.schemas import RegisterRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()
RegisterRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/auth/register")
def register(body: Annotated[RegisterRequest, Body()]):
    user_id = cognito.sign_up(body.email, body.password, body.name)
    try:
        # In AWS (prod) Cognito emails a code and the user confirms; dev and local confirm at once.
        if os.environ.get("AUTO_CONFIRM_SIGN_UP") == "true":
            cognito.confirm(user_id)
        cognito.add_to_group(user_id, body.role)
        profile = create_profile(user_id, body.email, body.name, [body.role])
    except Exception:
        # Never leave an account without its role: undo the sign-up so the email can be retried.
        logger.exception("registration failed after sign-up; removing the half-made account")
        cognito.delete_user(user_id)
        raise
    data = {"user_id": profile.user_id, "email": profile.email, "name": profile.name, "roles": [body.role]}
    return ok(app, data, status=201, headers={"Location": "/api/v1/users/me"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
