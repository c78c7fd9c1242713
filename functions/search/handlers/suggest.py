"""GET /api/v1/search/suggest?q=blu: autocomplete suggestions (public).

`q` (1..50 characters) -> `{suggestions: ["Blue Cotton T-Shirt", "Bluebird", ...]}`: product
titles and brands starting with `q` (completion suggester), then titles with a later word
starting with it (edge n-grams), at most `limit` (1..20, default 10).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.search import mapping
from functions.search.client import get_client, is_unavailable
from functions.search.queries import build_suggest, parse_suggest
from shared.errors import ServiceUnavailable, ValidationError
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()

PARAMETERS = frozenset({"q", "limit"})


@app.get("/api/v1/search/suggest")
def suggest(
    q: Annotated[str, Query(min_length=1, max_length=50)],
    limit: Annotated[int, Query(ge=1, le=20)] = 10,
):
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - PARAMETERS)
    if unknown:
        raise ValidationError(
            "The request is invalid.",
            {"fields": [{"field": f"query.{name}", "message": "unknown parameter", "type": "extra_forbidden"} for name in unknown]},
        )
    prefix = q.strip()
    if not prefix:
        raise ValidationError("The request is invalid.", {"fields": [{"field": "query.q", "message": "q is blank", "type": "invalid"}]})
    return ok(app, {"suggestions": suggestions(prefix, limit)})


def suggestions(prefix: str, limit: int) -> list[str]:
    from opensearchpy.exceptions import NotFoundError

    try:
        response = get_client().search(index=mapping.ALIAS, body=build_suggest(prefix, limit))
    except NotFoundError:
        return []  # nothing indexed yet
    except Exception as exc:
        if is_unavailable(exc):
            logger.warning("suggest unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise ServiceUnavailable("Search is unavailable right now; try again shortly.") from exc
        raise
    return parse_suggest(response, prefix, limit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
