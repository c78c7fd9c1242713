"""The local gateway builds API Gateway REST proxy events (payload 1.0) and answers as API Gateway does."""

from __future__ import annotations

import base64
import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from local.cfn import Deployment
from local.gateway import ApiRoute, LocalApiGateway, _path_pattern, routes_from_template


def _route(path: str, method: str = "GET") -> ApiRoute:
    return ApiRoute(method, path, "Fn", "NONE", (), _path_pattern(path))


def _gateway(routes: list[ApiRoute]) -> LocalApiGateway:
    gateway = LocalApiGateway.__new__(LocalApiGateway)
    gateway.routes, gateway.stage, gateway.extra_routes, gateway.authorizer = routes, "dev", {}, None
    return gateway


def test_proxy_event_has_every_payload_1_0_field():
    # GIVEN a request with repeated query parameters and headers, a path parameter and a body
    builder = EnvironBuilder(
        method="POST",
        path="/api/v1/products/p1/reviews",
        query_string="tag=a&tag=b&q=x",
        headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Content-Type", "application/json")],
        data=json.dumps({"rating": 5}),
    )
    route = _route("/api/v1/products/{product_id}/reviews", "POST")
    gateway = _gateway([route])
    # WHEN the gateway builds the event
    event = gateway.proxy_event(Request(builder.get_environ()), route, {"product_id": "p1"}, {"sub": "u1"})
    # THEN it has API Gateway's shape
    assert event["resource"] == "/api/v1/products/{product_id}/reviews"
    assert event["path"] == "/api/v1/products/p1/reviews"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"product_id": "p1"}
    assert event["queryStringParameters"] == {"tag": "b", "q": "x"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x"]}
    # WSGI joins repeated request headers into one value (API Gateway would list each one).
    assert event["multiValueHeaders"]["X-Multi"] == ["1, 2"] and event["headers"]["X-Multi"] == "1, 2"
    assert json.loads(event["body"]) == {"rating": 5} and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] and context["stage"] == "dev" and context["path"] == "/dev/api/v1/products/p1/reviews"
    assert context["authorizer"] == {"claims": {"sub": "u1"}}
    assert context["identity"]["sourceIp"]


def test_binary_body_is_base64_and_empty_parts_are_null():
    builder = EnvironBuilder(method="PUT", path="/x", data=b"\xff\x00\xfe", headers=[("Content-Type", "image/png")])
    route = _route("/x", "PUT")
    event = _gateway([route]).proxy_event(Request(builder.get_environ()), route, {}, None)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00\xfe"
    assert event["pathParameters"] is None and event["queryStringParameters"] is None
    assert "authorizer" not in event["requestContext"]


def test_literal_segments_win_over_parameters_and_greedy_paths_match_slashes():
    gateway = _gateway(sorted(
        [_route("/a/{id}"), _route("/a/special"), _route("/files/{proxy+}")],
        key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)),
    ))
    assert gateway.match("GET", "/a/special")[0].resource_path == "/a/special"
    assert gateway.match("GET", "/a/42") == (gateway.routes[1], {"id": "42"}) or gateway.match("GET", "/a/42")[1] == {"id": "42"}
    assert gateway.match("GET", "/files/x/y.png")[1] == {"proxy": "x/y.png"}
    assert gateway.match("POST", "/a/42") is None


def test_malformed_lambda_responses_become_502():
    assert LocalApiGateway.to_http({"body": "no status"}).status_code == 502
    response = LocalApiGateway.to_http({"statusCode": 201, "headers": {"X-A": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "{}"})
    assert response.status_code == 201 and response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_routes_come_from_api_gateway_resources_and_methods():
    # GIVEN a template fragment as CDK writes it (nested resources, a proxy integration)
    template = {"Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "functions.x.handler"}},
        "Api": {"Type": "AWS::ApiGateway::RestApi"},
        "R1": {"Type": "AWS::ApiGateway::Resource", "Properties": {"ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "items"}},
        "R2": {"Type": "AWS::ApiGateway::Resource", "Properties": {"ParentId": {"Ref": "R1"}, "PathPart": "{item_id}"}},
        "M": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "HttpMethod": "GET", "ResourceId": {"Ref": "R2"}, "AuthorizationType": "COGNITO_USER_POOLS",
            "AuthorizationScopes": ["s"],
            "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["Fn", "Arn"]}, "/invocations"]]}},
        }},
    }}
    [route] = routes_from_template(Deployment(template))
    assert (route.key, route.function_name, route.authorization_type, route.scopes) == (
        "GET /items/{item_id}", "Fn", "COGNITO_USER_POOLS", ("s",))
