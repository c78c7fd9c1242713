"""The whole backend as one stack, built from infra/topology.py."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.api import RestApi
from infra.cache import ReadModelCache
from infra.checkout import CheckoutSaga, grant_checkout, state_machine_arn
from infra.config import StageConfig
from infra.data import create_table
from infra.functions import FunctionFactory
from infra.identity import Identity
from infra.layer import SharedLayer, TokensLayer
from infra.media import ProductImages
from infra.network import Network
from infra.notifications import OrderNotifications
from infra.payments import PaymentSecrets
from infra.schedules import add_scheduled_job
from infra.search import SearchDomain
from infra.streams import attach_stream_consumer
from infra.topology import NOTIFICATIONS_TABLE, SERVICES


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
            "SEARCH_URL": search.endpoint_url,
            "SEARCH_AUTH": "sigv4",
            "IMAGES_BUCKET": images.bucket.bucket_name,
            "IMAGES_CDN_URL": images.cdn_url,
            "CHECKOUT_STATE_MACHINE_ARN": state_machine_arn(self),
            **payments.environment,
        }
        for service in SERVICES:
            for table in service.tables:
                environment[table.env_var] = tables[table.id].table_name
        factory = FunctionFactory(
            self, config, layer, tables, environment, identity.user_pool, search, images, network, cache
        )
        factory.payment_secrets = payments.secrets
        factory.token_layers = [TokensLayer(self, "TokensLayer").layer]
        if config.payment_provider == "stripe":
            from infra.layer import PaymentsLayer

            factory.payment_layers = [PaymentsLayer(self, "PaymentsLayer").layer]
        notifications = OrderNotifications(
            self, "Notifications", factory=factory, notifications_table=NOTIFICATIONS_TABLE, config=config,
            from_address=config.notification_from_address,
        )
        CheckoutSaga(self, "Checkout", config, factory)

        api = RestApi(self, "Http", config, identity.user_pool)
        for service in SERVICES:
            for route in service.routes:
                function = factory.create(
                    route.function_id, route.handler, route.tables, route.user_pool_actions, route.search,
                    images=route.images, cache=route.cache, description=route.description,
                    payment_secrets=route.payment_secrets,
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

        # CDK's own helper functions (custom resources) get log groups too: same stage policy.
        for child in self.node.find_all():
            if isinstance(child, logs.CfnLogGroup):
                child.apply_removal_policy(config.removal_policy)

        CfnOutput(self, "ApiUrl", value=api.api.url)
        CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
        CfnOutput(self, "ImagesCdnUrl", value=images.cdn_url)
        CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)
