"""GET /api/v1/users/me: the signed-in user's profile."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.identity.profiles import get_profile, to_view
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.get("/api/v1/users/me")
def get_me():
    principal = app.principal
    # Roles come from the token (groups may have changed since the profile was written).
    return ok(app, {**to_view(get_profile(principal.user_id, principal.roles)), "roles": sorted(principal.roles)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
