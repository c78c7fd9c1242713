"""POST /api/v1/auth/login: tokens for email + password, throttled per email + client address and
per client address (functions/identity/throttle.py, ADR 0020)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from functions.identity import cognito, throttle
from functions.identity.schemas import LoginRequest
from shared.errors import Unauthorized
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()
LoginRequest.model_rebuild()  # deferred in schemas.py; this handler's own body model is built at init


@app.post("/api/v1/auth/login")
def login(body: Annotated[LoginRequest, Body()]):
    # The address API Gateway saw the connection come from; X-Forwarded-For is the client's to write.
    address = app.current_event.request_context.identity.source_ip or "unknown"
    pair_key, address_key = throttle.pair_key(body.email, address), throttle.address_key(address)
    throttle.ensure_not_locked([pair_key, address_key])
    tokens = cognito.sign_in(body.email, body.password)
    if tokens is None:
        throttle.record_failure(pair_key, throttle.email_limit(), max_lock_seconds=throttle.MAX_PAIR_LOCK_SECONDS)
        throttle.record_failure(address_key, throttle.address_limit())
        # The same answer whether or not the email exists.
        raise Unauthorized("The email or password is wrong.")
    throttle.clear(pair_key)
    return ok(
        app,
        {
            "access_token": tokens["AccessToken"],
            "refresh_token": tokens["RefreshToken"],
            "expires_in": tokens["ExpiresIn"],
            "token_type": "Bearer",
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
