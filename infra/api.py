"""The REST API: one Lambda per route, Cognito authorizer on every private route."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StageConfig
from infra.identity import ACCESS_TOKEN_SCOPE
from infra.topology import Auth, Route


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

    def add_route(self, route: Route, function: lambda_.IFunction) -> apigw.Method:
        resource = self.api.root.resource_for_path(route.path)
        integration = apigw.LambdaIntegration(function, proxy=True)
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
