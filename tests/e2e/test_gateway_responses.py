"""API Gateway's own answers over HTTP: the error envelope, with the status and code infra/api.py gives them.

The local gateway renders the template's gateway responses (local/gateway.py), so these are the
answers a client gets in AWS too: no token, a bad token, an unknown path or method.
"""

from __future__ import annotations

import pytest

PRIVATE = "/api/v1/categories"  # POST: signed-in admins only


def assert_gateway_error(response, status: int, code: str, error_type: str) -> dict:
    """The envelope of docs/openapi.json, its meta with the request id (no timestamp: a
    gateway response template cannot format one), answered by the gateway, not a handler."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["x-amzn-ErrorType"] == error_type
    body = response.json()
    assert set(body) == {"status", "error", "meta"}, body
    assert body["status"] == "error"
    assert body["error"]["code"] == code and body["error"]["message"] and body["error"]["details"] == {}, body
    assert set(body["meta"]) == {"request_id"} and body["meta"]["request_id"], body
    return body


def test_no_token_is_401_unauthorized_in_the_envelope(anonymous):
    # WHEN a private route is called without a token
    first = assert_gateway_error(anonymous.post(PRIVATE, json={"name": "x"}), 401, "UNAUTHORIZED", "UnauthorizedException")
    second = assert_gateway_error(anonymous.post(PRIVATE, json={"name": "x"}), 401, "UNAUTHORIZED", "UnauthorizedException")
    # THEN each answer has a request id of its own
    assert first["meta"]["request_id"] != second["meta"]["request_id"]


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer a.b.c", "Basic YWRtaW46cGFzc3dvcmQ="])
def test_a_bad_token_is_401_unauthorized_in_the_envelope(anonymous, authorization):
    response = anonymous.post(PRIVATE, json={"name": "x"}, headers={"Authorization": authorization})
    assert_gateway_error(response, 401, "UNAUTHORIZED", "UnauthorizedException")


def test_an_id_token_where_an_access_token_is_required_is_401_in_the_envelope(anonymous, tokens):
    response = anonymous.post(PRIVATE, json={"name": "x"}, headers={"Authorization": f"Bearer {tokens['admin']['IdToken']}"})
    assert_gateway_error(response, 401, "UNAUTHORIZED", "UnauthorizedException")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/v1/nothing-here", id="unknown-path"),
        pytest.param("GET", "/", id="root"),
        pytest.param("POST", "/api/v2/categories", id="unknown-version"),
        pytest.param("DELETE", "/api/v1/categories", id="unknown-method-on-a-known-path"),
        pytest.param("PATCH", "/api/v1/products/p_1", id="unknown-method-on-a-parameterised-path"),
    ],
)
def test_an_unknown_route_is_404_not_found_in_the_envelope(anonymous, customer, method, path):
    # API Gateway's MISSING_AUTHENTICATION_TOKEN (403 by default): unknown things are 404 here,
    # with or without a token
    for caller in (anonymous, customer):
        response = caller.request(method, path)
        assert_gateway_error(response, 404, "NOT_FOUND", "MissingAuthenticationTokenException")


def test_a_private_route_with_a_valid_token_reaches_the_handler_not_a_gateway_response(customer):
    # The control: the handler's own 403 (a customer may not create categories) has no x-amzn-ErrorType
    response = customer.post(PRIVATE, json={"name": "x"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert "x-amzn-ErrorType" not in response.headers
    assert response.json()["meta"]["timestamp"]
