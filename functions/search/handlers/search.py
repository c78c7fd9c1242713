"""GET /api/v1/search: full-text product search with facets, filters, sort and cursor paging (public).

Query parameters: q, category, brand, color, size (repeat them or comma-separate values: any
of them matches), price_min, price_max (minor units, on the price a result shows), in_stock
(true: hide products known to be out of stock), sort (relevance|price_asc|price_desc|newest|
rating), cursor, limit (1..100, default 20). Unknown parameters are a 400, as unknown body
fields are (docs/decisions/0006-edge-conventions.md): a misspelt filter must not silently
return unfiltered results. OpenSearch unreachable -> 503 SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.search import mapping
from functions.search.client import get_client, is_unavailable
from functions.search.queries import SearchParams, SortName, build_search, empty_result, parse_search
from shared.errors import ServiceUnavailable, ValidationError
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()

PARAMETERS = frozenset({"q", "category", "brand", "color", "size", "price_min", "price_max", "in_stock", "sort", "cursor", "limit"})
MAX_VALUES = 20
Values = Annotated[list[str] | None, Query(max_length=MAX_VALUES)]


def _field_error(name: str, message: str) -> ValidationError:
    return ValidationError("The request is invalid.", {"fields": [{"field": f"query.{name}", "message": message, "type": "invalid"}]})


def _values(name: str, raw: list[str] | None) -> tuple[str, ...]:
    """Repeated and comma-separated values, trimmed, de-duplicated, in order."""
    values: list[str] = []
    for chunk in raw or []:
        for value in chunk.split(","):
            value = value.strip()
            if len(value) > 80:
                raise _field_error(name, "a value is longer than 80 characters")
            if value and value not in values:
                values.append(value)
    if len(values) > MAX_VALUES:
        raise _field_error(name, f"at most {MAX_VALUES} values")
    return tuple(values)


@app.get("/api/v1/search")
def search(
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(pattern=r"^cat_[0-9A-HJKMNP-TV-Z]{26}$")] = None,
    brand: Values = None,
    color: Values = None,
    size: Values = None,
    price_min: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    price_max: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    in_stock: Annotated[bool | None, Query()] = None,
    sort: Annotated[SortName, Query()] = "relevance",
    cursor: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - PARAMETERS)
    if unknown:
        raise ValidationError(
            "The request is invalid.",
            {"fields": [{"field": f"query.{name}", "message": "unknown parameter", "type": "extra_forbidden"} for name in unknown]},
        )
    if price_min is not None and price_max is not None and price_min > price_max:
        raise _field_error("price_min", "price_min is greater than price_max")
    params = SearchParams(
        q=(q or "").strip() or None,
        category=category,
        brand=_values("brand", brand),
        color=_values("color", color),
        size=_values("size", size),
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    return ok(app, run_search(params))


def run_search(params: SearchParams) -> dict[str, Any]:
    from opensearchpy.exceptions import NotFoundError

    body = build_search(params)  # raises ValidationError for a bad cursor, before any I/O
    try:
        response = get_client().search(index=mapping.ALIAS, body=body)
    except NotFoundError:
        return empty_result()  # nothing indexed yet: the alias does not exist
    except Exception as exc:
        if is_unavailable(exc):
            logger.warning("search unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise ServiceUnavailable("Search is unavailable right now; try again shortly.") from exc
        raise
    return parse_search(response, params)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
