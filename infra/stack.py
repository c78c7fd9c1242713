"""The whole backend as one stack, built from infra/topology.py."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Fn, Stack, Tags
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.api import RestApi
from infra.bulkhead import apply_bulkhead
from infra.cache import ReadModelCache
from infra.checkout import CheckoutSaga, grant_checkout, state_machine_arn
from infra.config import REAL_PAYMENT_PROVIDERS, StageConfig
from infra.cursors import CursorSecret
from infra.data import create_table
from infra.functions import FunctionFactory
from infra.identity import Identity
from infra.layer import SharedLayer, TokensLayer
from infra.media import ProductImages
from infra.monitoring import MonitoringStack
from infra.network import Network
from infra.notifications import OrderNotifications
from infra.payments import PaymentSecrets
from infra.schedules import add_scheduled_job
from infra.search import SearchDomain
from infra.streams import attach_stream_consumer
from infra.topology import NOTIFICATIONS_TABLE, SERVICES
from infra.waf import ApiFirewall


class BackendStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
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
            "POWERTOOLS_SERVICE_NAME": "shop",
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
        notifications = OrderNotifications(
            self, "Notifications", factory=factory, notifications_table=NOTIFICATIONS_TABLE, config=config,
            from_address=config.notification_from_address,
        )
        saga = CheckoutSaga(self, "Checkout", config, factory)

        for service in SERVICES:
            for route in service.routes:
                if not route.deployed_with(config.payment_provider):
                    continue  # e.g. the sandbox's pay-for-free page: never in a stripe stage
                function = factory.create(
                    route.function_id, route.handler, route.tables, route.user_pool_actions, route.search,
                    images=route.images, cache=route.cache, description=route.description,
                    payment_secrets=route.payment_secrets, cursors=route.cursors,
                    verifies_tokens=route.verifies_tokens,
                )
                grant_checkout(function, self, route.checkout)
                api.add_route(route, function)
            for consumer in service.stream_consumers:
                function = factory.create(
                    consumer.id, consumer.handler, consumer.tables, search=consumer.search, cache=consumer.cache,
                    timeout_seconds=60, payment_secrets=consumer.payment_secrets,
                )
                grant_checkout(function, self, consumer.checkout)
                if consumer.event_bus:
                    notifications.grant_publish(function)
                attach_stream_consumer(self, consumer, function, tables[consumer.table.id], config)
            for job in service.scheduled_jobs:
                add_scheduled_job(self, job, factory)
        api.add_cors_preflights()

        apply_bulkhead(self, config)
        # Last: it alarms on every queue and function built above (infra/monitoring.py).
        self.monitoring = MonitoringStack(
            self, "Monitoring", config, api=api.api, state_machine=saga.state_machine,
            alarm_email=self.node.try_get_context("alarm_email"),
        ).monitoring

        # CDK's own helper functions (custom resources) get log groups too: same stage policy.
        for child in self.node.find_all():
            if isinstance(child, logs.CfnLogGroup):
                child.apply_removal_policy(config.removal_policy)

        CfnOutput(self, "ApiUrl", value=api.api.url)
        CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
        CfnOutput(self, "ImagesCdnUrl", value=images.cdn_url)
        CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)
        CfnOutput(self, "AlertsTopicArn", value=self.monitoring.topic.topic_arn)
