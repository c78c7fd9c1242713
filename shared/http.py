"""The API's edge conventions: response envelope, error mapping, one resolver per handler.

Every endpoint handler builds its resolver with `create_app()` and answers with `ok(...)` or by
raising a `shared.errors.DomainError`. Whatever goes wrong, the client gets the envelope of
docs/openapi.json with a stable code; bad input is a 400, never a 500.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.auth import Principal, require_role, require_user
from shared.errors import DomainError, Unauthorized, ValidationError
from shared.observability import logger

JSON = "application/json"
# No documented bound needs more digits than this (the widest is 2**53 - 1, 16 digits): a longer
# integer is refused while parsing, before Python converts it (past ~4,300 digits that conversion
# itself raises, which was a 500) and before any handler sees it.
MAX_INTEGER_DIGITS = 20


class _OutOfBounds(ValidationError):
    pass


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _OutOfBounds(
            f"The request body has an integer of more than {MAX_INTEGER_DIGITS} digits.",
            {"fields": [{"field": "body", "message": "integer out of bounds", "type": "int_too_large"}]},
        )
    return int(literal)


def _no_constant(name: str) -> float:
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser accepts them.
    raise _OutOfBounds(
        f"The request body has {name}, which is not a JSON number.",
        {"fields": [{"field": "body", "message": f"{name} is not a number", "type": "json_invalid"}]},
    )


def parse_json_body(body: str | bytes) -> Any:
    """The body parser of every handler: standard JSON with integers bounded at the edge."""
    return json.loads(body, parse_int=_bounded_int, parse_constant=_no_constant)


def _meta(app: APIGatewayRestResolver) -> dict[str, str]:
    try:
        request_id = app.current_event.request_context.request_id
    except Exception:  # no current event (e.g. a failure before routing)
        request_id = ""
    return _meta_for(request_id)


def _meta_for(request_id: str) -> dict[str, str]:
    return {"request_id": request_id, "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")}


def _error_body(code: str, message: str, details: dict[str, Any] | None, meta: dict[str, str]) -> str:
    return _dumps({"status": "error", "error": {"code": code, "message": message, "details": details or {}}, "meta": meta})


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


def envelope_success(app: APIGatewayRestResolver, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = {"status": "success", "data": data, "meta": _meta(app)}
    return Response(status_code=status, content_type=JSON, body=_dumps(body), headers=headers)


def envelope_error(app: APIGatewayRestResolver, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=_error_body(code, message, details, _meta(app)))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        fields.append({"field": location, "message": error.get("msg", "invalid"), "type": error.get("type", "")})
    return fields


def _as_json_request(event: dict[str, Any]) -> dict[str, Any]:
    """The API speaks JSON only: a body sent without a Content-Type, or as curl's default
    form type, is read as JSON (so `curl -d '{...}'` works) rather than as form fields."""
    headers = event.get("headers") or {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not event.get("body") or content_type.startswith("application/json"):
        return event
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        return event
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "application/json"
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    multi["Content-Type"] = ["application/json"]
    return {**event, "headers": headers, "multiValueHeaders": multi}


def _require_json_body(event: dict[str, Any]) -> None:
    """A body of any other media type is a 400 before the validator tries to parse it (found by
    the contract fuzzer: multipart/form-data without a boundary made powertools raise a 500)."""
    if not event.get("body"):
        return
    headers = event.get("headers") or {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content_type.strip().lower().startswith("application/json"):
        raise ValidationError("The request body must be JSON (Content-Type: application/json).")


class ShopResolver(APIGatewayRestResolver):
    """Checks the caller's role before anything else, so a forbidden caller learns nothing
    about the body's schema (powertools validates the body before route middlewares run)."""

    def __init__(self, roles: tuple[str, ...] | None, optional_sign_in: bool = False) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=parse_json_body)
        self.required_roles = roles
        self.optional_sign_in = optional_sign_in

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _with_cors(self._resolve_event(event, context), event)

    def _resolve_event(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        event = _as_json_request(event)
        try:
            if self.optional_sign_in:
                event = _with_verified_claims(event)
            if self.required_roles is not None:
                require_role(event, *self.required_roles) if self.required_roles else require_user(event)
            _require_json_body(event)
        except DomainError as exc:
            # Before routing there is no current event yet: answer in the proxy format directly.
            meta = _meta_for(((event.get("requestContext") or {}).get("requestId")) or "")
            body = _error_body(exc.code, exc.message, exc.details, meta)
            return {"statusCode": exc.status, "headers": {"Content-Type": JSON}, "body": body, "isBase64Encoded": False}
        return super().resolve(event, context)

    @property
    def principal(self) -> Principal:
        """The signed-in caller (only on apps created with roles=...)."""
        return require_user(self.current_event.raw_event)


def _with_cors(result: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Every answer, success or error, with the CORS headers for the request's Origin (shared/cors.py)."""
    from shared.cors import response_headers

    extra = response_headers(event.get("headers"))
    if not extra or not isinstance(result, dict):
        return result
    if "multiValueHeaders" in result:
        result["multiValueHeaders"] = {**(result.get("multiValueHeaders") or {}), **{k: [v] for k, v in extra.items()}}
    else:
        result["headers"] = {**(result.get("headers") or {}), **extra}
    return result


def _with_verified_claims(event: dict[str, Any]) -> dict[str, Any]:
    """Routes open to guests (Auth.OPTIONAL) have no authorizer at the edge: a bearer token, if
    sent, is verified here with the authorizer's rules and its claims put where the authorizer
    puts them. A bad token is a 401, never a silent fall-back to guest."""
    headers = event.get("headers") or {}
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    context = dict(event.get("requestContext") or {})
    context.pop("authorizer", None)
    if authorization:
        from shared.tokens import ACCESS_TOKEN_SCOPE, InvalidToken, verifier_from_environment

        try:
            claims = verifier_from_environment().claims_for(authorization, [ACCESS_TOKEN_SCOPE])
        except InvalidToken as exc:
            logger.info("rejected token", extra={"reason": str(exc)})
            raise Unauthorized("The access token is invalid or expired.") from None
        context["authorizer"] = {"claims": claims}
    return {**event, "requestContext": context}


def create_app(roles: tuple[str, ...] | None = None, optional_sign_in: bool = False) -> ShopResolver:
    """A resolver with request validation and the contract's error mapping.

    roles=None: no sign-in needed by the handler; roles=(): any signed-in user;
    roles=("admin",): only those roles (403 otherwise), checked before the body is read.
    optional_sign_in: guests welcome, and a token, if sent, must be valid (Auth.OPTIONAL routes).
    """
    app = ShopResolver(roles, optional_sign_in)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return envelope_error(app, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        fields = _field_errors(exc)
        if any(f["type"] == "json_invalid" for f in fields):
            return envelope_error(app, 400, "VALIDATION_ERROR", "The request body is not valid JSON.")
        return envelope_error(app, 400, "VALIDATION_ERROR", "The request is invalid.", {"fields": fields})

    # Bodies the validator cannot even read are bad input too (found by the contract fuzzer):
    # not UTF-8, another media type, JSON nested deeper than the parser recurses.
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response:
        return envelope_error(app, 400, "VALIDATION_ERROR", "The request body is not UTF-8 JSON.")

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(_: Exception) -> Response:
        return envelope_error(app, 400, "VALIDATION_ERROR", "The request body must be JSON (Content-Type: application/json).")

    @app.exception_handler(RecursionError)
    def _too_deep(_: RecursionError) -> Response:
        return envelope_error(app, 400, "VALIDATION_ERROR", "The request body is nested too deeply.")

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        return envelope_error(app, 404, "NOT_FOUND", "No such resource.")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return envelope_error(app, 500, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")

    return app


def ok(app: APIGatewayRestResolver, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return envelope_success(app, data, status, headers)


def no_content() -> Response:
    return Response(status_code=204, body="")


def public_url(path: str) -> str:
    """The absolute URL of `path` (e.g. /api/v1/sandbox/payments/pay_1) on this stage: its configured
    public base URL (PUBLIC_BASE_URL, set by CDK from the API's URL or the stage's domain, and by
    the local stack from its own). Never the request's Host or X-Forwarded-Proto: a caller must not
    choose where our links, or the sandbox's signed webhooks, point."""
    import os

    base = os.environ.get("PUBLIC_BASE_URL")
    if not base:
        raise RuntimeError("PUBLIC_BASE_URL is not set: the stage's public base URL (infra/stack.py)")
    return base.rstrip("/") + path
