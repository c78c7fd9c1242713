"""API Gateway's own answers (gateway responses) are the contract's error envelope, in AWS and locally.

The synthesized template must configure a gateway response for every type infra/api.py names,
each templating the envelope with its stable code; the local gateway (local/gateway.py) must
render exactly those templates, and fall back as API Gateway does when a type has none.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra import cors
from infra.api import GATEWAY_ERRORS
from local.cfn import Deployment
from local.gateway import TEMPLATE_VARIABLES, GatewayResponses

from .conftest import Synth

REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
GATEWAY_MESSAGE = 'API Gateway says "no"'  # quotes: the message must stay a JSON string
# What each type answers: (status, or None for API Gateway's own; code; message, or None for API Gateway's).
EXPECTED: dict[str, tuple[int | None, str, str | None]] = {
    "UNAUTHORIZED": (401, "UNAUTHORIZED", "The access token is missing, invalid or expired."),
    "ACCESS_DENIED": (403, "FORBIDDEN", "Access denied."),
    "MISSING_AUTHENTICATION_TOKEN": (404, "NOT_FOUND", "No such resource."),  # an unknown path or method
    "RESOURCE_NOT_FOUND": (404, "NOT_FOUND", "No such resource."),
    "BAD_REQUEST_PARAMETERS": (400, "VALIDATION_ERROR", None),
    "BAD_REQUEST_BODY": (400, "VALIDATION_ERROR", None),
    "REQUEST_TOO_LARGE": (413, "REQUEST_TOO_LARGE", "The request is too large."),
    "THROTTLED": (429, "RATE_LIMITED", "Too many requests: slow down and retry."),
    "QUOTA_EXCEEDED": (429, "RATE_LIMITED", "The API key's quota for this period is used up."),
    "INTEGRATION_TIMEOUT": (504, "SERVICE_UNAVAILABLE", "The request timed out; retry shortly."),
    "DEFAULT_4XX": (None, "BAD_REQUEST", None),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR", "Something went wrong on our side; retry later."),
}


def _gateway_responses(synth: Synth) -> dict[str, dict[str, Any]]:
    """ResponseType -> the GatewayResponse's properties."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in synth.of_type("AWS::ApiGateway::GatewayResponse").items():
        props = resource["Properties"]
        assert props["ResponseType"] not in found, f"two gateway responses for {props['ResponseType']}"
        found[props["ResponseType"]] = {**props, "LogicalId": logical_id}
    return found


def _render(template: str, message: str = GATEWAY_MESSAGE) -> Any:
    """A template as API Gateway fills it in (simple substitution), parsed."""
    values = {
        "$context.requestId": REQUEST_ID,
        "$context.error.message": message,
        "$context.error.messageString": json.dumps(message),
    }
    return json.loads(re.sub(r"\$context(?:\.[A-Za-z]+)+", lambda m: values[m.group(0)], template))


def _envelope(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"code": code, "message": message, "details": {}}, "meta": {"request_id": REQUEST_ID}}


# -- the template (AWS) ----------------------------------------------------------------------------
def test_infra_names_the_expected_types():
    assert {error.type.response_type: (error.code, error.message) for error in GATEWAY_ERRORS} == {
        response_type: (code, message) for response_type, (_, code, message) in EXPECTED.items()
    }


@pytest.mark.slow
def test_every_gateway_error_answers_the_envelope_with_its_code(synth: Synth) -> None:
    # GIVEN the synthesized API  WHEN its gateway responses are read
    responses = _gateway_responses(synth)
    [api_id] = synth.of_type("AWS::ApiGateway::RestApi")
    # THEN there is one per expected type, on the API, and nothing else
    assert set(responses) == set(EXPECTED)
    for response_type, (status, code, message) in EXPECTED.items():
        props = responses[response_type]
        assert props["RestApiId"] == {"Ref": api_id}, response_type
        # AND the status is set (an unknown route is 404, not API Gateway's 403), except for the
        # defaults, which keep the status of whatever error they stand for
        assert props.get("StatusCode") == (str(status) if status else None), response_type
        # AND the only body template is JSON: the envelope, its code stable, the request id in meta
        [(content_type, template)] = props["ResponseTemplates"].items()
        assert content_type == "application/json", response_type
        assert _render(template) == _envelope(code, message or GATEWAY_MESSAGE), response_type
        # AND it uses only what the local gateway renders too
        assert set(re.findall(r"\$context(?:\.[A-Za-z]+)+", template)) <= set(TEMPLATE_VARIABLES), response_type
        # AND its only headers are CORS's, for the stage's allowed origin (infra/cors.py)
        expected_headers = cors.gateway_response_headers(synth.stack.config.cors_allowed_origins)
        assert props.get("ResponseParameters", {}) == {
            f"gatewayresponse.header.{name}": f"'{value}'" for name, value in expected_headers.items()
        }, response_type


@pytest.mark.slow
def test_a_change_to_the_gateway_responses_redeploys_the_stage(dev: Synth) -> None:
    # Gateway responses take effect on the next deployment of the stage: the Deployment must
    # depend on them (CDK also puts them into its logical id, so a change makes a new one).
    [deployment] = dev.of_type("AWS::ApiGateway::Deployment").values()
    assert set(_gateway_responses(dev)[t]["LogicalId"] for t in EXPECTED) <= set(deployment["DependsOn"])


# -- the local gateway ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_local_gateway_answers_with_the_templates_gateway_responses(dev: Synth) -> None:
    # GIVEN the local gateway's reading of the synthesized template
    responses = GatewayResponses.from_template(Deployment(dev.template))
    # WHEN it answers what API Gateway answers itself  THEN it is the envelope, with the template's status
    cases = {
        "UNAUTHORIZED": (401, "UNAUTHORIZED", "UnauthorizedException"),
        "MISSING_AUTHENTICATION_TOKEN": (404, "NOT_FOUND", "MissingAuthenticationTokenException"),
        "AUTHORIZER_CONFIGURATION_ERROR": (500, "INTERNAL_ERROR", "AuthorizerConfigurationException"),  # via DEFAULT_5XX
        "DEFAULT_5XX": (502, "INTERNAL_ERROR", "InternalServerErrorException"),  # a handler that crashed
    }
    for response_type, (status, code, error_type) in cases.items():
        response = responses.answer(response_type, REQUEST_ID)
        assert response.status_code == status, response_type
        assert response.mimetype == "application/json"
        assert response.headers["x-amzn-ErrorType"] == error_type
        body = json.loads(response.get_data(as_text=True))
        assert body["error"]["code"] == code and body["meta"] == {"request_id": REQUEST_ID}, body


def _deployment(*gateway_responses: dict[str, Any]) -> Deployment:
    resources: dict[str, Any] = {"Api": {"Type": "AWS::ApiGateway::RestApi"}}
    for index, props in enumerate(gateway_responses):
        resources[f"Response{index}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {"RestApiId": {"Ref": "Api"}, **props},
        }
    return Deployment({"Resources": resources})


def test_without_gateway_responses_the_local_gateway_answers_api_gateways_defaults():
    responses = GatewayResponses.from_template(_deployment())
    unauthorized = responses.answer("UNAUTHORIZED", REQUEST_ID)
    assert (unauthorized.status_code, unauthorized.get_data(as_text=True)) == (401, '{"message":"Unauthorized"}')
    unknown = responses.answer("MISSING_AUTHENTICATION_TOKEN", REQUEST_ID)
    assert (unknown.status_code, unknown.json) == (403, {"message": "Missing Authentication Token"})
    crashed = responses.answer("DEFAULT_5XX", REQUEST_ID)
    assert (crashed.status_code, crashed.json) == (502, {"message": "Internal server error"})


def test_a_type_without_its_own_response_falls_back_to_its_default_family():
    # GIVEN only DEFAULT_4XX (no status: each error keeps its own) and a DEFAULT_5XX with a status and a header
    template = '{"code":"X","message":$context.error.messageString,"raw":"$context.error.message","id":"$context.requestId"}'
    responses = GatewayResponses.from_template(
        _deployment(
            {"ResponseType": "DEFAULT_4XX", "ResponseTemplates": {"application/json": template}},
            {
                "ResponseType": "DEFAULT_5XX",
                "StatusCode": "503",
                "ResponseParameters": {"gatewayresponse.header.X-Why": "'down'"},
                "ResponseTemplates": {"application/json": "{}"},
            },
        )
    )
    # THEN a 401 renders DEFAULT_4XX with its own status and API Gateway's message
    unauthorized = responses.answer("UNAUTHORIZED", REQUEST_ID)
    assert unauthorized.status_code == 401
    assert unauthorized.json == {"code": "X", "message": "Unauthorized", "raw": "Unauthorized", "id": REQUEST_ID}
    # AND a 5xx takes DEFAULT_5XX's status and static header
    crashed = responses.answer("DEFAULT_5XX", REQUEST_ID)
    assert (crashed.status_code, crashed.headers["X-Why"], crashed.json) == (503, "down", {})


def test_a_template_variable_the_local_gateway_cannot_render_is_refused_at_start():
    # API Gateway would fill in $context.requestTime; the local gateway would not: fail loudly, not drift.
    template = '{"at":"$context.requestTime"}'
    with pytest.raises(ValueError, match=r"\$context.requestTime"):
        GatewayResponses.from_template(
            _deployment({"ResponseType": "UNAUTHORIZED", "ResponseTemplates": {"application/json": template}})
        )
    with pytest.raises(ValueError, match="static headers"):
        GatewayResponses.from_template(
            _deployment(
                {
                    "ResponseType": "UNAUTHORIZED",
                    "ResponseParameters": {"gatewayresponse.header.X-Origin": "method.request.header.Origin"},
                }
            )
        )
