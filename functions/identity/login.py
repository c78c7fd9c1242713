"""POST /api/v1/auth/login: tokens for email + password, throttled per email and per IP."""

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


@app.post("/api/v1/auth/login")
def login(body: Annotated[LoginRequest, Body()]):
    source_ip = app.current_event.request_context.identity.source_ip or "unknown"
    email_key = throttle.throttle_key("email", body.email)
    ip_key = throttle.throttle_key("ip", source_ip)
    throttle.ensure_not_locked([email_key, ip_key])
    tokens = cognito.sign_in(body.email, body.password)
    if tokens is None:
        throttle.record_failure(email_key, throttle.email_limit())
        throttle.record_failure(ip_key, throttle.ip_limit())
        # The same answer whether or not the email exists.
        raise Unauthorized("The email or password is wrong.")
    throttle.clear(email_key)
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
