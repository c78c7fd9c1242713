"""docs/openapi.json: generated from the handlers (infra/openapi.py), current, and complete."""

from __future__ import annotations

import importlib

import pytest

from infra import openapi
from infra.topology import Auth, all_routes

REGENERATE = f"docs/openapi.json is stale: run `{openapi.COMMAND}` and commit the result"
ERROR_STATUSES = {"400", "401", "403", "404", "409", "422", "429", "503"}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.build_document()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_checked_in_document_is_the_generated_one(document):
    checked_in = openapi.DOCUMENT_PATH.read_text(encoding="utf-8") if openapi.DOCUMENT_PATH.exists() else ""
    assert checked_in == openapi.render(document), REGENERATE


def test_it_is_a_valid_openapi_3_1_document(document):
    from openapi_spec_validator import validate

    assert document["openapi"].startswith("3.1")
    assert document["info"] == {"title": "Shop API", "version": "1", "description": openapi.DESCRIPTION}
    validate(document)


def test_every_topology_route_is_documented_and_nothing_else(document):
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert documented == {(route.method, route.path) for route in all_routes()}


def test_each_operation_has_the_security_of_its_route(document):
    scheme = document["components"]["securitySchemes"][openapi.BEARER]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert "security" not in document  # no global default: each operation says
    expected = {Auth.USER: [{openapi.BEARER: []}], Auth.OPTIONAL: [{}, {openapi.BEARER: []}], Auth.PUBLIC: []}
    for route in all_routes():
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["security"] == expected[route.auth], route
        assert operation["operationId"] == route.function_id
        # routes that take a token document the 401; role-restricted ones the 403
        if route.auth is not Auth.PUBLIC:
            assert "401" in operation["responses"], route
        roles = importlib.import_module(route.handler.rpartition(".")[0]).app.required_roles
        if roles:
            assert "403" in operation["responses"], route


def test_headers_the_handlers_read_are_documented(document):
    def header(method: str, path: str, name: str) -> dict | None:
        operation = document["paths"][path][method.lower()]
        return next((p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == name), None)

    for path in ("/api/v1/orders", "/api/v1/payments"):
        key = header("POST", path, "Idempotency-Key")
        assert key is not None and key["required"] is True, path
        assert {"409", "422"} <= set(document["paths"][path]["post"]["responses"])
    for route in all_routes():
        token = header(route.method, route.path, "X-Cart-Token")
        assert (token is not None) == route.path.startswith("/api/v1/cart"), route
        if token:
            assert token["required"] is False
    created = document["paths"]["/api/v1/cart/items"]["post"]["responses"]["201"]
    assert created["headers"]["X-Cart-Token"]["required"] is True


def test_answers_are_enveloped(document):
    schemas = document["components"]["schemas"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status in ERROR_STATUSES:
                schema = content["application/json"]["schema"]
                refs = [schema["$ref"]] if "$ref" in schema else [option["$ref"] for option in schema["anyOf"]]
                assert "#/components/schemas/ErrorEnvelope" in refs, (method, path, status)
            elif status.startswith("2") and "application/json" in content:
                name = content["application/json"]["schema"]["$ref"].rpartition("/")[2]
                envelope = schemas[name]
                assert envelope["required"] == ["status", "data", "meta"], (method, path, status)
                assert envelope["properties"]["status"] == {"const": "success"}
            else:
                assert status in ("204", "200") and set(content) <= {"text/html"}, (method, path, status)
            assert not status.startswith("5") or status == "503", (method, path, status)
    error = schemas["ErrorEnvelope"]
    assert error["required"] == ["status", "error", "meta"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]


def test_powertools_validation_answers_are_not_documented(document):
    # shared/http.py answers request validation as 400 VALIDATION_ERROR, never powertools' 422 shape.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        if "422" in operation["responses"]:
            assert (method, path) in {("POST", "/api/v1/orders"), ("POST", "/api/v1/payments"), ("POST", "/api/v1/orders/{order_id}/refunds")}


def test_models_with_one_name_and_two_shapes_are_refused():
    # OpenAPIMerge would keep one of them silently.
    seen: dict = {}
    route = all_routes()[0]
    openapi._check_components(seen, route, {"schemas": {"Address": {"type": "object"}}})
    openapi._check_components(seen, route, {"schemas": {"Address": {"type": "object"}}})  # the same: fine
    with pytest.raises(ValueError, match="name models uniquely"):
        openapi._check_components(seen, all_routes()[1], {"schemas": {"Address": {"type": "string"}}})
    with pytest.raises(ValueError, match="rename one"):
        openapi._check_components(seen, route, {"schemas": {"Product": {"type": "object"}}})


def test_the_command_checks_and_writes(tmp_path, capsys):
    target = tmp_path / "openapi.json"
    assert openapi.main(["--check", "--output", str(target)]) == 1
    assert openapi.COMMAND in capsys.readouterr().err
    assert openapi.main(["--output", str(target)]) == 0
    assert openapi.main(["--check", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == openapi.DOCUMENT_PATH.read_text(encoding="utf-8")
