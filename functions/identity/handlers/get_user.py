"""GET /api/v1/users/{user_id}: a profile, for that user or an admin; anyone else gets 404. Never writes."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.identity.profiles import read_profile, to_view
from shared.auth import ensure_owner
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.get("/api/v1/users/<user_id>")
def get_user(user_id: str):
    principal = app.principal
    ensure_owner(principal, user_id)  # not yours -> 404, as if it did not exist
    roles = principal.roles if user_id == principal.user_id else frozenset()
    return ok(app, to_view(read_profile(user_id, roles)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
