"""The backend: a parent stack with everything shared and stateful, and one nested stack per
service of infra/topology.py (infra/services.py; docs/decisions/0038-nested-stack-per-service.md).

The parent keeps the tables (their construct ids, hence logical ids, never change: data stays
where it is), the user pool, network, layers, search domain, cache, images, secrets, the event
bus, the REST API with its methods and the WAF, and the monitoring nested stack (the alerts
topic, the API's alarms, the dashboard). Each service's stack has its functions and what they
need, and its alarms.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Fn, Stack, Tags
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.api import RestApi
from infra.bulkhead import apply_bulkhead
from infra.cache import ReadModelCache
from infra.checkout import state_machine_arn
from infra.config import REAL_PAYMENT_PROVIDERS, StageConfig
from infra.cursors import CursorSecret
from infra.data import create_table
from infra.functions import FunctionFactory
from infra.identity import Identity
from infra.layer import SharedLayer, TokensLayer
from infra.media import ProductImages
from infra.monitoring import MonitoringStack
from infra.network import Network
from infra.notifications import OrderEventBus
from infra.payments import PaymentSecrets
from infra.search import SearchDomain
from infra.services import ServiceStack, check_hosts
from infra.topology import SERVICES
from infra.waf import ApiFirewall


class BackendStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config  # the operator settings included (app.py)
        Tags.of(self).add("project", "shop")
        Tags.of(self).add("stage", config.name)

        tables = {table.id: create_table(self, table, config) for service in SERVICES for table in service.tables}
        identity = Identity(self, "Identity", config)
        layer = SharedLayer(self, "Shared").layer
        network = Network(self, "Network", config)
        search = SearchDomain(self, "Search", config, network.vpc)
        cache = ReadModelCache(self, "Cache", config, network.vpc)
        images = ProductImages(self, "Images", config)
        payments = PaymentSecrets(self, "Payments", config)
        if config.production and config.payment_provider not in REAL_PAYMENT_PROVIDERS:  # StageConfig refuses it too
            raise ValueError(f"stage {config.name!r} is a production stage: it needs a real payment provider, not {config.payment_provider!r}")
        # Created before the functions: links and the sandbox's webhook target are built from
        # PUBLIC_BASE_URL, never from a request's Host header. Built from the API's id and the
        # stage name (not api.url, whose Ref of the stage would depend on the methods, i.e. on the
        # functions that read it: a cycle).
        api = RestApi(self, "Http", config, identity.user_pool)
        ApiFirewall(self, "Firewall", config, api.api)
        public_base_url = config.public_base_url or Fn.join("", [
            "https://", api.api.rest_api_id, ".execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX, "/", config.name,
        ])

        environment = {
            "STAGE": config.name,
            "POWERTOOLS_METRICS_NAMESPACE": "Shop",
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            "RESERVATION_TTL_SECONDS": str(config.reservation_ttl_seconds),
            "PAYMENT_WINDOW_SECONDS": str(config.payment_window_seconds),
            "USER_POOL_ID": identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": identity.client.user_pool_client_id,
            "AUTO_CONFIRM_SIGN_UP": "true" if config.auto_confirm_sign_up else "false",
            "LOGIN_MAX_FAILURES": str(config.login_max_failures),
            "GUEST_MAX_HOLD_SECONDS": str(config.guest_max_hold_seconds),
            "LOGIN_MAX_FAILURES_PER_ADDRESS": str(config.login_max_failures_per_address),
            "SEARCH_URL": search.endpoint_url,
            "SEARCH_AUTH": "sigv4",
            "IMAGES_BUCKET": images.bucket.bucket_name,
            "IMAGES_CDN_URL": images.cdn_url,
            "CHECKOUT_STATE_MACHINE_ARN": state_machine_arn(self),
            "CORS_ALLOWED_ORIGINS": ",".join(config.cors_allowed_origins),
            "PUBLIC_BASE_URL": public_base_url,
            **payments.environment,
        }
        for service in SERVICES:
            for table in service.tables:
                environment[table.env_var] = tables[table.id].table_name
        factory = FunctionFactory(
            self, config, layer, tables, environment, identity.user_pool, search, images, network, cache
        )
        factory.payment_secrets = payments.secrets
        factory.cursor_secret = CursorSecret(self, "Cursors", config).secret
        factory.payment_secret_environment = payments.secret_environment
        factory.token_layers = [TokensLayer(self, "TokensLayer").layer]
        if config.payment_provider == "stripe":
            from infra.layer import PaymentsLayer

            factory.payment_layers = [PaymentsLayer(self, "PaymentsLayer").layer]
        # The alerts topic first (every service's alarms notify it); the rest of monitoring last.
        self.monitoring_stack = MonitoringStack(self, "Monitoring", config)
        self.monitoring = self.monitoring_stack.monitoring
        event_bus = OrderEventBus(self, "Notifications").bus

        check_hosts(SERVICES)
        self.services = {
            service.name: ServiceStack(
                self, service, config, factory=factory, tables=tables, api=api, event_bus=event_bus,
                alerts=self.monitoring.topic,
            )
            for service in SERVICES
        }
        api.add_cors_preflights()

        apply_bulkhead(self, config)
        self.monitoring_stack.watch(api=api.api, services=[stack.alarms for stack in self.services.values()])

        # CDK's own helper functions (custom resources) get log groups too: same stage policy.
        for child in self.node.find_all():
            if isinstance(child, logs.CfnLogGroup):
                child.apply_removal_policy(config.removal_policy)

        CfnOutput(self, "ApiUrl", value=api.api.url)
        CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
        CfnOutput(self, "ImagesCdnUrl", value=images.cdn_url)
        CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)
        CfnOutput(self, "AlertsTopicArn", value=self.monitoring.topic.topic_arn)
