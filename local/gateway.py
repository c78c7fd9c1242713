"""A local API Gateway (REST API, Lambda proxy integration, payload format 1.0).

Routes are read from the synthesized template (AWS::ApiGateway::Resource/Method), never listed
by hand, so what runs locally is what `cdk deploy` creates. Each request becomes the proxy
event API Gateway would send and is handed to the same handler the template deploys. CORS
preflights (OPTIONS on MOCK integrations, infra/cors.py) are answered from the template's
integration responses, as API Gateway answers them.

What API Gateway answers itself (an unknown route, the authorizer's 401, a handler that crashed)
comes from the template's gateway responses (AWS::ApiGateway::GatewayResponse, infra/api.py):
their status, headers and body template, rendered with the same simple substitutions API
Gateway makes. A type the template does not configure falls back to its DEFAULT_4XX/DEFAULT_5XX
response, then to API Gateway's own default ({"message": "..."}).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.authorizer import AuthorizationFailed, CognitoAuthorizer
from local.cfn import ACCOUNT_ID, Deployment
from local.lambda_runtime import LambdaRuntime
from local.waf import WebAcl

log = logging.getLogger("local.gateway")

LOCAL_API_ID = "localapi01"
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


@dataclass(frozen=True)
class ApiRoute:
    method: str
    resource_path: str  # /api/v1/products/{product_id}
    function_name: str
    authorization_type: str  # NONE | COGNITO_USER_POOLS
    scopes: tuple[str, ...]
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.resource_path}"


def _path_pattern(resource_path: str) -> re.Pattern[str]:
    regex = ""
    for segment in resource_path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            regex += rf"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{") and segment.endswith("}"):
            regex += rf"/(?P<{segment[1:-1]}>[^/]+)"
        elif segment:
            regex += "/" + re.escape(segment)
    return re.compile(f"^{regex or '/'}$")


def _function_in(value: Any, deployment: Deployment) -> str | None:
    """The Lambda function an integration URI points at (a GetAtt <Function>.Arn inside it)."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical_id = value["Fn::GetAtt"][0]
            if deployment.resources.get(logical_id, {}).get("Type") == "AWS::Lambda::Function":
                return logical_id
        for child in value.values():
            found = _function_in(child, deployment)
            if found:
                return found
    if isinstance(value, list):
        for child in value:
            found = _function_in(child, deployment)
            if found:
                return found
    return None


def _path_of(reference: Any, resources: dict[str, Any]) -> str:
    """The resource path of an AWS::ApiGateway::Method's ResourceId."""
    if isinstance(reference, dict) and "Ref" in reference and reference["Ref"] in resources:
        props = resources[reference["Ref"]]["Properties"]
        return _path_of(props["ParentId"], resources).rstrip("/") + "/" + props["PathPart"]
    return "/"  # GetAtt <RestApi>.RootResourceId


def routes_from_template(deployment: Deployment) -> list[ApiRoute]:
    resources = deployment.resources_of_type("AWS::ApiGateway::Resource")

    def path_of(reference: Any) -> str:
        return _path_of(reference, resources)

    routes = []
    for logical_id, method in deployment.resources_of_type("AWS::ApiGateway::Method").items():
        props = method["Properties"]
        integration = props.get("Integration", {})
        if integration.get("Type") != "AWS_PROXY":
            continue
        function_name = _function_in(integration.get("Uri"), deployment)
        if function_name is None:
            raise ValueError(f"method {logical_id} integrates with no Lambda function of the template")
        resource_path = path_of(props["ResourceId"])
        routes.append(
            ApiRoute(
                method=props["HttpMethod"],
                resource_path=resource_path,
                function_name=function_name,
                authorization_type=props.get("AuthorizationType", "NONE"),
                scopes=tuple(props.get("AuthorizationScopes", [])),
                pattern=_path_pattern(resource_path),
            )
        )
    # Literal segments win over {params}, as in API Gateway.
    return sorted(routes, key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)))


_RESPONSE_HEADER = "method.response.header."


@dataclass(frozen=True)
class Preflight:
    """An OPTIONS method on a MOCK integration (infra/cors.py): API Gateway answers it itself."""

    resource_path: str
    pattern: re.Pattern[str]
    status_code: int
    headers: dict[str, str]  # static ones
    allowed_origins: tuple[str, ...]  # Access-Control-Allow-Origin echoes these only

    def answer(self, origin: str | None) -> Response:
        headers = dict(self.headers)
        if origin in self.allowed_origins:
            headers["Access-Control-Allow-Origin"] = origin
        return Response(b"", status=self.status_code, headers=headers)


def preflights_from_template(deployment: Deployment) -> list[Preflight]:
    """The template's OPTIONS mock methods, as infra/cors.py writes them (anything else: an error)."""
    from infra.cors import origins_of_template

    resources = deployment.resources_of_type("AWS::ApiGateway::Resource")
    preflights = []
    for logical_id, method in deployment.resources_of_type("AWS::ApiGateway::Method").items():
        props = method["Properties"]
        integration = props.get("Integration", {})
        if props.get("HttpMethod") != "OPTIONS" or integration.get("Type") != "MOCK":
            continue
        (response,) = integration.get("IntegrationResponses") or [{}]
        headers = {}
        for name, value in (response.get("ResponseParameters") or {}).items():
            if not (name.startswith(_RESPONSE_HEADER) and len(value) >= 2 and value[0] == value[-1] == "'"):
                raise ValueError(f"{logical_id}: only static headers ('value') are supported locally, not {name}={value}")
            headers[name.removeprefix(_RESPONSE_HEADER)] = value[1:-1]
        resource_path = _path_of(props["ResourceId"], resources)
        preflights.append(Preflight(
            resource_path=resource_path,
            pattern=_path_pattern(resource_path),
            status_code=int(response["StatusCode"]),
            headers=headers,
            allowed_origins=origins_of_template((response.get("ResponseTemplates") or {})["application/json"]),
        ))
    return sorted(preflights, key=lambda p: (p.resource_path.count("{"), -len(p.resource_path)))


# The answers API Gateway makes itself that the local gateway makes too: response type ->
# (status, `$context.error.message`, x-amzn-ErrorType header), as when the API configures nothing.
API_GATEWAY_ERRORS: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error", "AuthorizerConfigurationException"),
    # A Lambda proxy integration whose function raised or answered malformed output: 502, and no
    # type of its own (DEFAULT_5XX applies).
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
}
# The gateway response template variables the local gateway renders (no VTL, as in API Gateway).
TEMPLATE_VARIABLES = ("$context.requestId", "$context.error.message", "$context.error.messageString")
_VARIABLE = re.compile(r"\$context(?:\.[A-Za-z]+)+")
_HEADER_PARAMETER = "gatewayresponse.header."


@dataclass(frozen=True)
class GatewayResponse:
    """An AWS::ApiGateway::GatewayResponse of the template."""

    response_type: str
    status_code: int | None  # None: the error's own status
    headers: dict[str, str]
    templates: dict[str, str]  # content type -> body template


class GatewayResponses:
    """API Gateway's own answers, as the template's gateway responses shape them."""

    def __init__(self, responses: dict[str, GatewayResponse] | None = None) -> None:
        self.responses = responses or {}
        for response in self.responses.values():
            for template in response.templates.values():
                unknown = set(_VARIABLE.findall(template)) - set(TEMPLATE_VARIABLES)
                if unknown:
                    raise ValueError(
                        f"gateway response {response.response_type} uses {sorted(unknown)}: the local gateway "
                        f"renders only {', '.join(TEMPLATE_VARIABLES)} (teach local/gateway.py the others)"
                    )

    @classmethod
    def from_template(cls, deployment: Deployment) -> GatewayResponses:
        responses = {}
        for logical_id, resource in deployment.resources_of_type("AWS::ApiGateway::GatewayResponse").items():
            props = deployment.resolve(resource.get("Properties", {}))
            headers = {}
            for name, value in (props.get("ResponseParameters") or {}).items():
                if not (name.startswith(_HEADER_PARAMETER) and len(value) >= 2 and value[0] == value[-1] == "'"):
                    raise ValueError(f"{logical_id}: only static headers ('value') are supported locally, not {name}={value}")
                headers[name.removeprefix(_HEADER_PARAMETER)] = value[1:-1]
            status = props.get("StatusCode")
            responses[props["ResponseType"]] = GatewayResponse(
                response_type=props["ResponseType"],
                status_code=int(status) if status else None,
                headers=headers,
                templates=dict(props.get("ResponseTemplates") or {}),
            )
        return cls(responses)

    def answer(self, response_type: str, request_id: str) -> Response:
        """What API Gateway answers for an error of `response_type` (one of API_GATEWAY_ERRORS)."""
        default_status, message, error_type = API_GATEWAY_ERRORS[response_type]
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        configured = self.responses.get(response_type) or self.responses.get(family)
        status = configured.status_code if configured and configured.status_code else default_status
        headers = {"x-amzn-ErrorType": error_type, **(configured.headers if configured else {})}
        if configured and configured.templates:
            content_type = "application/json" if "application/json" in configured.templates else next(iter(configured.templates))
            values = {
                "$context.requestId": request_id,
                "$context.error.message": message,
                "$context.error.messageString": json.dumps(message),
            }
            body = _VARIABLE.sub(lambda found: values[found.group(0)], configured.templates[content_type])
        else:
            content_type, body = "application/json", json.dumps({"message": message}, separators=(",", ":"))
        return Response(body, status=status, headers=headers, content_type=content_type)


DEFAULT_GATEWAY_RESPONSES = GatewayResponses()  # an API that configures none


class LocalApiGateway:
    def __init__(
        self,
        deployment: Deployment,
        runtime: LambdaRuntime,
        authorizer: CognitoAuthorizer | None,
        stage: str = "local",
        extra_routes: dict[str, Callable[[Request], Response]] | None = None,
    ) -> None:
        self.routes = routes_from_template(deployment)
        self.preflights = preflights_from_template(deployment)
        self.gateway_responses = GatewayResponses.from_template(deployment)
        self.web_acl = WebAcl.from_template(deployment)  # the stage's WAF rules (local/waf.py)
        self.runtime = runtime
        self.authorizer = authorizer
        self.stage = stage
        self.extra_routes = extra_routes or {}
        self._server = None
        self._thread: threading.Thread | None = None

    # -- serving ----------------------------------------------------------------------------
    def start(self, host: str, port: int) -> None:
        self._server = make_server(host, port, self.wsgi_app, threaded=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    # -- one request -------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method and route.method != "ANY":
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def handle(self, request: Request) -> Response:
        for prefix, extra in self.extra_routes.items():
            if request.path == prefix or (prefix.endswith("/") and request.path.startswith(prefix)):
                return extra(request)
        blocked = self.web_acl.blocked(request, self.source_ip(request))  # WAF answers before API Gateway
        if blocked is not None:
            return blocked
        request_id = str(uuid.uuid4())
        if request.method == "OPTIONS":
            preflight = next((p for p in self.preflights if p.pattern.match(request.path)), None)
            if preflight is not None:
                return preflight.answer(request.headers.get("Origin"))
        matched = self.match(request.method, request.path)
        if matched is None:
            # A method or resource the API does not have.
            return self.gateway_responses.answer("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, path_parameters = matched
        claims = None
        if route.authorization_type == "COGNITO_USER_POOLS":
            if self.authorizer is None:
                log.error("%s %s: the route has a Cognito authorizer and the local gateway none", request.method, request.path)
                return self.gateway_responses.answer("AUTHORIZER_CONFIGURATION_ERROR", request_id)
            try:
                claims = self.authorizer.claims_for(request.headers.get("Authorization"), list(route.scopes))
            except AuthorizationFailed as exc:
                log.info("401 %s %s: %s", request.method, request.path, exc)
                return self.gateway_responses.answer("UNAUTHORIZED", request_id)
        event = self.proxy_event(request, route, path_parameters, claims, request_id)
        try:
            result = self.runtime.invoke(route.function_name, event, request_id=request_id)
        except Exception:
            log.exception("handler %s raised", route.function_name)
            return self.gateway_responses.answer("DEFAULT_5XX", request_id)
        return self.to_http(result, self.gateway_responses, request_id)

    @staticmethod
    def source_ip(request: Request) -> str:
        """The client's address as API Gateway and WAF see it: the connection's peer, never a header."""
        return request.remote_addr or "127.0.0.1"

    def proxy_event(
        self,
        request: Request,
        route: ApiRoute,
        path_parameters: dict[str, str],
        claims: dict[str, str] | None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        raw = request.get_data()
        content_type = request.headers.get("Content-Type", "")
        is_text = not raw or content_type.startswith(TEXT_TYPES) or not content_type
        try:
            body = raw.decode("utf-8") if is_text else None
        except UnicodeDecodeError:
            body = None
        is_base64 = raw != b"" and body is None
        if is_base64:
            body = base64.b64encode(raw).decode()
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = {key: values[-1] for key, values in request.args.lists()}
        multi_query = {key: values for key, values in request.args.lists()}
        now = datetime.now(UTC)
        request_id = request_id or str(uuid.uuid4())
        request_context: dict[str, Any] = {
            "resourceId": route.resource_path,
            "resourcePath": route.resource_path,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{self.stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": self.stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": self.source_ip(request),
                "userAgent": request.headers.get("User-Agent", ""),
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityPoolId": None,
                "cognitoIdentityId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "accessKey": None,
                "apiKey": None,
                "apiKeyId": None,
            },
            "domainName": request.host,
            "apiId": LOCAL_API_ID,
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": claims}
        return {
            "resource": route.resource_path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": body if raw else None,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def to_http(result: Any, gateway_responses: GatewayResponses = DEFAULT_GATEWAY_RESPONSES, request_id: str = "") -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            # API Gateway's answer to a malformed proxy response.
            log.error("malformed Lambda proxy response: %r", result)
            return gateway_responses.answer("DEFAULT_5XX", request_id or str(uuid.uuid4()))
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(data, status=int(result["statusCode"]))
        response.headers.clear()
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = str(value)
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(name)
            for value in values:
                response.headers.add(name, str(value))
        response.headers.setdefault("Content-Type", "application/json")
        return response
