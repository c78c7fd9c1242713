"""The REST API: one Lambda per route, Cognito authorizer on every private route.

API Gateway's own answers (the authorizer's 401, an unknown route, throttling, integration
failures) are gateway responses templated into the contract's error envelope
(docs/openapi.json, shared/http.py), so a client reads every error the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import cors
from infra.config import StageConfig
from infra.identity import ACCESS_TOKEN_SCOPE
from infra.topology import Auth, Route

# What a gateway response template may use (simple substitution only: API Gateway does not run
# VTL on them). The local gateway (local/gateway.py) renders the same templates with these.
REQUEST_ID = "$context.requestId"
GATEWAY_MESSAGE = "$context.error.messageString"  # API Gateway's message, already a quoted JSON string


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's own answers, in the envelope with a stable code of the contract."""

    type: apigw.ResponseType
    status: str | None  # None: API Gateway's status for the error (DEFAULT_4XX / DEFAULT_5XX cover many)
    code: str
    message: str | None  # None: API Gateway's own message (e.g. which parameter is missing)

    def template(self) -> str:
        """The envelope as a gateway response template. `meta` has the request id only: without
        VTL there is no way to write an ISO-8601 timestamp (`$context.requestTime` is CLF)."""
        message = "@MESSAGE@" if self.message is None else self.message
        body = {
            "status": "error",
            "error": {"code": self.code, "message": message, "details": {}},
            "meta": {"request_id": REQUEST_ID},
        }
        return json.dumps(body, separators=(",", ":")).replace('"@MESSAGE@"', GATEWAY_MESSAGE)


# Codes are the handlers' (shared/errors.py) wherever one means the same thing.
GATEWAY_ERRORS: tuple[GatewayError, ...] = (
    # The Cognito authorizer: no token, or a bad, expired or out-of-scope one.
    GatewayError(apigw.ResponseType.UNAUTHORIZED, "401", "UNAUTHORIZED", "The access token is missing, invalid or expired."),
    GatewayError(apigw.ResponseType.ACCESS_DENIED, "403", "FORBIDDEN", "Access denied."),
    # What API Gateway answers for a path or method the API does not have ("Missing Authentication
    # Token", 403): our convention is that unknown things are 404, as the handlers' own answer for
    # an unknown route (shared/http.py). The API has no IAM-authorized methods, the other cause of it.
    GatewayError(apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "NOT_FOUND", "No such resource."),
    GatewayError(apigw.ResponseType.RESOURCE_NOT_FOUND, "404", "NOT_FOUND", "No such resource."),
    GatewayError(apigw.ResponseType.BAD_REQUEST_PARAMETERS, "400", "VALIDATION_ERROR", None),
    GatewayError(apigw.ResponseType.BAD_REQUEST_BODY, "400", "VALIDATION_ERROR", None),
    GatewayError(apigw.ResponseType.REQUEST_TOO_LARGE, "413", "REQUEST_TOO_LARGE", "The request is too large."),
    GatewayError(apigw.ResponseType.THROTTLED, "429", "RATE_LIMITED", "Too many requests: slow down and retry."),
    GatewayError(apigw.ResponseType.QUOTA_EXCEEDED, "429", "RATE_LIMITED", "The API key's quota for this period is used up."),
    GatewayError(apigw.ResponseType.INTEGRATION_TIMEOUT, "504", "SERVICE_UNAVAILABLE", "The request timed out; retry shortly."),
    # Everything else API Gateway answers itself, with its own status.
    GatewayError(apigw.ResponseType.DEFAULT_4_XX, None, "BAD_REQUEST", None),
    GatewayError(apigw.ResponseType.DEFAULT_5_XX, None, "INTERNAL_ERROR", "Something went wrong on our side; retry later."),
)


class RestApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, user_pool: cognito.IUserPool) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"shop-{config.name}",
            description="Marketplace backend API (v1)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=config.removal_policy,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # never log request bodies: they carry passwords and addresses
                # Sign-in is the brute-force target: a tighter limit than the stage's (the
                # login handler also throttles per email and per IP, across instances).
                method_options={
                    "/api/v1/auth/login/POST": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=max(1, config.api_rate_limit // 10),
                        throttling_burst_limit=max(2, config.api_burst_limit // 10),
                    ),
                },
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True,
                ),
            ),
        )
        # For API-key clients (partners, the payment provider's tooling): their own throttle and quota.
        self.api.add_usage_plan(
            "PartnerPlan",
            name=f"shop-{config.name}-partners",
            throttle=apigw.ThrottleSettings(rate_limit=config.api_rate_limit // 2, burst_limit=config.api_burst_limit // 2),
            quota=apigw.QuotaSettings(limit=100_000, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[user_pool])
        # Bodies are validated in the handlers (with field-level errors); this only stops
        # requests missing required parameters before they cost a Lambda invocation.
        self.validator = self.api.add_request_validator("ParamsValidator", validate_request_parameters=True)
        # CORS (infra/cors.py): the gateway's own errors carry the allowed origin too, when the
        # stage has one (they cannot branch on the request's Origin), or browsers hide them.
        self.cors_origins = config.cors_allowed_origins
        cors.check_origins(self.cors_origins)
        error_headers = {name: f"'{value}'" for name, value in cors.gateway_response_headers(self.cors_origins).items()}
        for error in GATEWAY_ERRORS:
            self.api.add_gateway_response(
                error.type.response_type,
                type=error.type,
                status_code=error.status,
                response_headers=error_headers or None,
                templates={"application/json": error.template()},
            )
        self._methods: dict[str, tuple[apigw.IResource, list[str]]] = {}  # path -> (resource, methods)
        # API Gateway invokes the route functions with one role (ADR 0031), not one
        # Lambda::Permission per method: the same least privilege (exactly the route functions),
        # in 2 resources instead of one per route, under CloudFormation's 500 per stack.
        self.invoke_role = iam.Role(
            self, "InvokeRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway invokes the API's route functions (and nothing else) with this role",
        )

    def add_route(self, route: Route, function: lambda_.IFunction) -> apigw.Method:
        resource = self.api.root.resource_for_path(route.path)
        self._methods.setdefault(route.path, (resource, []))[1].append(route.method)
        integration = self._integration(function)
        if route.auth is not Auth.USER:  # public, or optional (the handler verifies a token if sent)
            return resource.add_method(route.method, integration, request_validator=self.validator)
        return resource.add_method(
            route.method,
            integration,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=[ACCESS_TOKEN_SCOPE],
            request_validator=self.validator,
        )

    def _integration(self, function: lambda_.IFunction) -> apigw.Integration:
        """A Lambda proxy integration (the URI LambdaIntegration builds) that API Gateway calls with
        the invoke role: no console test-invoke permission, no resource policy per method."""
        self.invoke_role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
        uri = Stack.of(self).format_arn(
            service="apigateway", account="lambda", resource="path/2015-03-31/functions",
            resource_name=f"{function.function_arn}/invocations",
        )
        return apigw.Integration(
            type=apigw.IntegrationType.AWS_PROXY, integration_http_method="POST", uri=uri,
            options=apigw.IntegrationOptions(credentials_role=self.invoke_role),
        )

    def add_cors_preflights(self) -> None:
        """After every route: an OPTIONS method per resource with routes (none without origins)."""
        if not self.cors_origins:
            return
        for resource, methods in self._methods.values():
            cors.add_preflight(resource, methods, self.cors_origins)
