"""The whole local stack in one process: moto (patched), the deployed template, the gateway,
the stream poller, the SQS queue poller, the TTL sweeper, the scheduler (EventBridge scheduled
rules), osmem-server and a cache server.

    python -m local            # what `make run` starts
    LocalStack(port=0).start() # what the test suite starts (on free ports)
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from local.cfn import Deployment

log = logging.getLogger("local.stack")

DEFAULT_DEMO_PASSWORD = "Demo-Passw0rd!"
# What the payment webhook secret (the secret a function's PAYMENT_WEBHOOK_SECRET_ARN names)
# holds locally as "current" unless PAYMENT_WEBHOOK_SECRET is set: the sandbox provider signs
# with it, so local webhooks verify without any setup.
DEFAULT_PAYMENT_WEBHOOK_SECRET = "whsec_bG9jYWwtc2FuZGJveC13ZWJob29rLXNlY3JldA=="
LOCAL_ENVIRONMENT = {
    # Handlers must not try to reach X-Ray or publish EMF metrics to stdout noise locally.
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    # The local scheduler runs the hold sweeper every few seconds: one sweep per run.
    "SWEEPS_PER_INVOCATION": "1",
    # No SES here: notifications go to the outbox (the notifications table) that tests read.
    "NOTIFICATION_SENDER": "outbox",
    # moto shares two cores with the test suite (and 200 concurrent writers in one test): SDK
    # timeouts x10 (shared/aws.py), so a busy machine does not look like a failing DynamoDB.
    # The fault tests that are about budgets set it back to 1.
    "SDK_TIMEOUT_SCALE": "10",
}
# The knobs of the README's local stack knobs that reach the handlers.
KNOBS = ("RESERVATION_TTL_SECONDS", "PAYMENT_WINDOW_SECONDS", "PAYMENT_WEBHOOK_SECRET")


GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def payment_webhook_secret() -> str:
    """The local payment webhook secret: $PAYMENT_WEBHOOK_SECRET if set (non-empty), else the default."""
    return os.environ.get("PAYMENT_WEBHOOK_SECRET") or DEFAULT_PAYMENT_WEBHOOK_SECRET


def _settle_garbage_collector() -> None:
    """Once up: what exists now (moto's models, botocore's service models, handler modules) lives
    as long as the stack, so it leaves the collector's generations (gc.freeze), and young
    collections run less often. The stack allocates briskly (every AWS call parses and builds
    dicts), and with the default thresholds the collector was ~20% of its process's CPU under
    `make load`, mostly re-walking long-lived objects. No answer depends on it."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def _forget_sdk_clients() -> None:
    """A new stack is a new "account": clients cached by handler modules (per execution
    environment, as in Lambda) still point at a previous stack's moto. Forget them all."""
    import sys

    # (no store has a pynamodb model with a connection of its own: ADR 0048; shared/tables.py's
    # connection is one of the caches below)
    for name, module in list(sys.modules.items()):
        if name.startswith(("functions.", "shared.")):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


class StartupError(RuntimeError):
    """The local stack cannot start; the message says what to do."""


@dataclass
class LocalStack:
    port: int = 3000
    seed: bool = True
    stage: str = "dev"
    template: dict[str, Any] | None = None
    poll_interval: float = 0.2
    # How long a message that an SQS consumer failed stays invisible before its retry (whole
    # seconds; in AWS: the queue's VisibilityTimeout).
    queue_retry_delay: int = 1
    sweep_interval: float = 1.0
    # Scheduled rules run every `local:interval_seconds` of their template metadata (the topology's
    # ScheduledJob.local_interval_seconds); a number here runs every rule that often instead.
    schedule_interval: float | None = None
    demo_password: str = field(default_factory=lambda: os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD))
    # Told each start-up step as it ends (`make run` prints them), e.g. print.
    progress: Any = None
    # True (`make run`): start() returns once the accounts and categories exist and the demo
    # catalog seeds in a background thread through the same API (ADR 0033); `catalog_seeded` is
    # set when it is done. False (tests, benches): start() returns with everything seeded.
    seed_in_background: bool = False
    # How many demo products to list (None: the whole demo catalog, 204).
    demo_product_count: int | None = None

    _started_in_this_process: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self._stoppers: list[Any] = []
        self.timings: dict[str, float] = {}
        import threading

        self.catalog_seeded = threading.Event()
        self.products_to_seed = self.seeded_products = 0
        self.seed_error: BaseException | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        from local.moto_server import free_port, port_is_free, start_moto_server

        started = time.perf_counter()
        if self.port and not port_is_free(self.port):
            raise StartupError(f"port {self.port} on 127.0.0.1 is taken: stop what uses it or set PORT=<another port>")
        if self.template is None and shutil.which("node") is None:
            raise StartupError("Node.js is missing: CDK needs it to synthesize the app (install Node 20+)")
        try:
            self._start(started, free_port, start_moto_server)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, started: float, free_port: Any, start_moto_server: Any) -> None:
        import boto3

        from local.authorizer import CognitoAuthorizer
        from local.cognito import deploy_user_pools
        from local.events import deploy_event_buses_and_rules
        from local.gateway import LocalApiGateway
        from local.lambda_runtime import LambdaRuntime
        from local.moto_patches import set_lambda_runtime
        from local.queues import QueuePoller
        from local.resources import deploy_queues, deploy_tables
        from local.scheduler import Scheduler
        from local.secrets import deploy_secrets, set_webhook_secret
        from local.services import start_cache, start_search
        from local.stepfunctions import deploy_functions_and_state_machines
        from local.streams import StreamPoller
        from local.synth import synth_backend_template
        from local.ttl import TtlSweeper

        self.moto = start_moto_server()
        if LocalStack._started_in_this_process:
            # moto's backends are process-wide: a second stack must not inherit the first's data.
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            moto_api_backend.set_config({"stepfunctions": {"execute_state_machine": True}})
            from local.moto_hooks import forget_expiries

            forget_expiries()
        LocalStack._started_in_this_process = True
        self._stoppers.append(self.moto.stop)
        if os.environ.get("LOCAL_AWS_TRANSPORT", "in-process") == "in-process":
            from local.moto_server import dispatch_in_process

            self._stoppers.append(dispatch_in_process(self.moto.endpoint))
        _forget_sdk_clients()
        self.search = start_search(free_port())
        self._stoppers.append(self.search.stop)
        self.cache = start_cache(free_port())
        self._stoppers.append(self.cache.stop)
        os.environ["SEARCH_URL"] = self.search.url
        os.environ["CACHE_URL"] = self.cache.url
        self._mark("services", started)

        template = self.template if self.template is not None else synth_backend_template(self.stage)
        self._mark("synth", started)
        self.deployment = deployment = Deployment(template)
        endpoint = self.moto.endpoint
        deploy_tables(deployment, boto3.client("dynamodb", endpoint_url=endpoint))
        deploy_queues(deployment, boto3.client("sqs", endpoint_url=endpoint))
        deploy_user_pools(deployment, endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        for bucket in deployment.resources_of_type("AWS::S3::Bucket"):
            name = f"local-{bucket.lower()}"[:63]
            s3.create_bucket(Bucket=name)
            deployment.physical_ids[bucket] = name
        for distribution in deployment.resources_of_type("AWS::CloudFront::Distribution"):
            deployment.attributes[(distribution, "DomainName")] = "cdn.local.invalid"  # IMAGES_CDN_URL is overridden below
        for domain in deployment.resources_of_type("AWS::OpenSearchService::Domain"):
            # osmem-server stands in for the domain (its URL overrides SEARCH_URL below).
            deployment.attributes[(domain, "DomainEndpoint")] = self.search.url.removeprefix("http://")
        for cache in deployment.resources_of_type("AWS::ElastiCache::ServerlessCache"):
            # The local cache server stands in for ElastiCache Serverless (its URL overrides CACHE_URL below).
            from urllib.parse import urlsplit

            local_cache = urlsplit(self.cache.url)
            for endpoint_name in ("Endpoint", "ReaderEndpoint"):
                deployment.attributes[(cache, f"{endpoint_name}.Address")] = str(local_cache.hostname)
                deployment.attributes[(cache, f"{endpoint_name}.Port")] = str(local_cache.port)
        # Before the functions: their environment may name a secret, a bus or a rule.
        secretsmanager = boto3.client("secretsmanager", endpoint_url=endpoint)
        deploy_secrets(deployment, secretsmanager)
        set_webhook_secret(deployment, secretsmanager, payment_webhook_secret())
        deploy_event_buses_and_rules(deployment, boto3.client("events", endpoint_url=endpoint))

        self.runtime = runtime = LambdaRuntime(deployment.functions())
        overrides = {key: os.environ[key] for key in KNOBS if key in os.environ and key in runtime.environment}
        overrides.update(LOCAL_ENVIRONMENT)
        # The local servers stand in for the endpoints the template would give in AWS.
        overrides.update({"CACHE_URL": self.cache.url, "SEARCH_URL": self.search.url, "SEARCH_AUTH": ""})
        for pool in list(deployment.resources_of_type("AWS::Cognito::UserPool"))[:1]:
            # Handlers that verify tokens themselves (Auth.OPTIONAL routes) fetch moto's keys.
            from local.authorizer import jwks_url

            overrides["COGNITO_JWKS_URL"] = jwks_url(endpoint, deployment.physical_id(pool))
        runtime.apply_environment(overrides)
        # Functions the template puts in the VPC reach only its endpoints and its resources'
        # stand-ins (the cache and search servers), as on AWS (local/network.py, ADR 0049).
        from urllib.parse import urlsplit

        from local.network import VpcRoutes

        stand_ins = [urlsplit(url) for url in (self.cache.url, self.search.url)]
        moto_address = urlsplit(endpoint)
        runtime.network = VpcRoutes.from_template(
            deployment, addresses=[(str(url.hostname), int(url.port or 0)) for url in stand_ins],
            labels={("127.0.0.1", int(moto_address.port or 0)):
                    "moto outside an SDK call: a public AWS host such as Cognito's JWKS, outside the VPC"})
        set_lambda_runtime(runtime)
        deploy_functions_and_state_machines(deployment, runtime, endpoint)
        self._mark("deploy", started)

        pools = list(deployment.resources_of_type("AWS::Cognito::UserPool"))
        clients = list(deployment.resources_of_type("AWS::Cognito::UserPoolClient"))
        authorizer = CognitoAuthorizer(
            endpoint,
            [deployment.physical_id(pool) for pool in pools],
            [deployment.physical_id(client) for client in clients],
        )
        from local.docs import docs_routes

        extra_routes = docs_routes()  # GET /api/openapi.json and /api/docs (Swagger UI)
        if "IMAGES_BUCKET" in runtime.environment:
            extra_routes["/cdn/"] = self._cdn(runtime.environment["IMAGES_BUCKET"])
        self.gateway = LocalApiGateway(deployment, runtime, authorizer, stage=self.stage, extra_routes=extra_routes)
        self.gateway.start("127.0.0.1", self.port)
        # The stage's public base URL (links, the sandbox's webhook target) is this server's, as
        # CDK sets it to the API's: never a request's Host header (shared/http.py public_url).
        runtime.environment["PUBLIC_BASE_URL"] = os.environ["PUBLIC_BASE_URL"] = self.url
        if "/cdn/" in extra_routes:
            # The local CloudFront: image URLs point at the gateway's /cdn/, which reads the bucket.
            runtime.environment["IMAGES_CDN_URL"] = os.environ["IMAGES_CDN_URL"] = f"{self.url}/cdn"
        self._stoppers.append(self.gateway.stop)

        self.poller = StreamPoller(deployment, runtime, interval=self.poll_interval)
        self.poller.start()
        self._stoppers.append(self.poller.stop)
        self.queue_poller = QueuePoller(deployment, runtime, interval=self.poll_interval, retry_delay=self.queue_retry_delay,
                                        sqs_client=boto3.client("sqs", endpoint_url=endpoint))
        self.queue_poller.start()
        self._stoppers.append(self.queue_poller.stop)
        self.sweeper = TtlSweeper(deployment, interval=self.sweep_interval, endpoint_url=endpoint)
        self.sweeper.start()
        self._stoppers.append(self.sweeper.stop)
        self.scheduler = Scheduler(deployment, runtime, interval=self.schedule_interval)
        self.scheduler.start()
        self._stoppers.append(self.scheduler.stop)

        if self.seed and self.seed_in_background:
            self._seed_catalog_in_background()
        elif self.seed:
            from local.seed import seed_accounts_and_categories, seed_products

            seller_token, category_ids = seed_accounts_and_categories(self)
            self.seeded_products = seed_products(self, seller_token, category_ids, count=self.demo_product_count)
            self.catalog_seeded.set()
        else:
            self.catalog_seeded.set()
        self._mark("ready", started)
        _settle_garbage_collector()

    def _seed_catalog_in_background(self) -> None:
        """Accounts and categories now (sign-in and a first request need them), the demo catalog
        from a thread: its writes go through the real API and reach search through the streams."""
        import threading

        from local.demo_catalog import demo_products
        from local.seed import seed_accounts_and_categories, seed_products

        seller_token, category_ids = seed_accounts_and_categories(self)
        count = self.demo_product_count
        self.products_to_seed = len(demo_products(category_ids)) if count is None else count
        stop = threading.Event()
        began = time.perf_counter()

        def seed() -> None:
            try:
                self.seeded_products = seed_products(self, seller_token, category_ids, stop=stop, count=count)
                if self.progress is not None and not stop.is_set():
                    self.progress(f"demo catalog seeded: {self.seeded_products} products in {time.perf_counter() - began:.1f} s "
                                  "(search catches up through the streams within a second or two)")
            except BaseException as exc:  # the stack keeps serving; say why the catalog is short
                self.seed_error = exc
                log.exception("seeding the demo catalog failed")
                if self.progress is not None and not stop.is_set():
                    self.progress(f"warning: seeding the demo catalog failed: {exc}")
            finally:
                self.catalog_seeded.set()

        thread = threading.Thread(target=seed, name="demo-catalog-seed", daemon=True)
        thread.start()

        def stop_seeding() -> None:
            stop.set()
            thread.join(timeout=30)  # the products in flight finish; the rest are skipped

        self._stoppers.append(stop_seeding)

    def _cdn(self, bucket: str) -> Any:
        """GET /cdn/<key>: what CloudFront does for the images bucket (read-only, no listing)."""
        import boto3
        from werkzeug.wrappers import Response

        s3 = boto3.client("s3", endpoint_url=self.moto.endpoint)

        def serve(request: Any) -> Any:
            key = request.path.removeprefix("/cdn/")
            if request.method not in ("GET", "HEAD") or not key:
                return Response(status=403)
            try:
                obj = s3.get_object(Bucket=bucket, Key=key)
            except s3.exceptions.NoSuchKey:
                return Response(status=404)
            return Response(obj["Body"].read(), content_type=obj.get("ContentType", "application/octet-stream"),
                            headers={"Cache-Control": "public, max-age=86400"})

        return serve

    STEPS: ClassVar[dict[str, str]] = {
        "services": "search and cache servers up",
        "synth": "CDK template ready (cached in .build/synth-cache when its inputs are unchanged)",
        "deploy": "template deployed into moto",
        "ready": "background loops running, demo data seeded",
    }

    def _mark(self, step: str, started: float) -> None:
        self.timings[step] = round(time.perf_counter() - started, 3)
        if self.progress is not None:
            message = self.STEPS.get(step, step)
            if step == "ready" and self.seed and self.seed_in_background:
                message = (f"background loops running, accounts and categories seeded; seeding {self.products_to_seed} "
                           "more products in the background")
            self.progress(f"  {self.timings[step]:5.1f} s  {message}")

    def stop(self) -> None:
        """Stop everything that started, newest first; safe to call twice."""
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception:  # keep stopping the rest
                log.exception("error while stopping %s", stopper)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handy facts for tests and the banner ----------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def physical_name(self, construct_id_prefix: str, resource_type: str = "AWS::DynamoDB::Table") -> str:
        """The local name of the template resource whose logical id starts with the CDK id."""
        matches = [lid for lid in self.deployment.resources_of_type(resource_type) if lid.startswith(construct_id_prefix)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} {resource_type} resources start with {construct_id_prefix!r}")
        return self.deployment.physical_id(matches[0])

    @property
    def user_pool_id(self) -> str:
        return self.physical_name("Identity", "AWS::Cognito::UserPool")

    @property
    def user_pool_client_id(self) -> str:
        return self.physical_name("Identity", "AWS::Cognito::UserPoolClient")
