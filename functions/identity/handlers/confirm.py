"""POST /api/v1/auth/confirm: confirm an account with the code Cognito emailed (prod stages).

Stages with AUTO_CONFIRM_SIGN_UP=true (dev, the local stack) confirm at registration, so there
this answers 409 INVALID_STATE for an already confirmed account, like any repeated confirmation.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.identity import cognito
from functions.identity.schemas import ConfirmRequest
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()
ConfirmRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/auth/confirm")
def confirm(body: Annotated[ConfirmRequest, Body()]):
    cognito.confirm_with_code(body.email, body.code)
    return ok(app, {"email": body.email, "confirmed": True})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
