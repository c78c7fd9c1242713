"""Per-stage configuration (dev, prod), chosen with `cdk deploy -c stage=prod`.

What an operator chooses for a production stage (OPERATOR_SETTINGS: where alarms go, the sender
address, the storefront's origins, the public base URL) is not here: it comes from the CDK context
(`cdk deploy -c stage=prod -c alarm_email=...`), and a production stage without one of them does
not synthesize (docs/decisions/0050-operator-settings-from-context.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs


@dataclass(frozen=True)
class StageConfig:
    name: str
    removal_policy: RemovalPolicy
    deletion_protection: bool
    log_retention: logs.RetentionDays
    api_rate_limit: int  # steady requests per second for the whole stage
    api_burst_limit: int
    lambda_memory_mb: int = 512  # more memory = more CPU = faster cold starts
    reservation_ttl_seconds: int = 900
    payment_window_seconds: int = 900
    log_level: str = "INFO"
    # dev: accounts work at once (no inbox to read a code from); prod: Cognito emails a code.
    auto_confirm_sign_up: bool = False
    # ElastiCache Serverless ceilings (infra/cache.py): what a runaway writer can cost at most.
    cache_max_data_gb: int = 1
    cache_max_ecpu_per_second: int = 5000
    # Sign-in failures a minute before a growing lock-out (ADR 0020): per email from one client
    # address, and per client address over all emails (looser: offices and carrier NAT share one).
    login_max_failures: int = 5
    login_max_failures_per_address: int = 50
    # Hoarding limits (docs/decisions/0025): new guest carts per client IP per minute (the WAF
    # rule of infra/waf.py; WAF's minimum is 10), and how long a guest cart may hold stock in
    # total, renewals included (2 x the reservation TTL).
    guest_carts_per_address_per_minute: int = 20
    guest_max_hold_seconds: int = 1800
    # Addresses the guest-cart rule does not count: load generators playing many shoppers from one
    # address. dev: the local machine (the suite, make bench and make load run from 127.0.0.1; the
    # hoarding test comes from other loopback addresses). Loopback never reaches a deployed WAF.
    load_generator_cidrs: tuple[str, ...] = ()
    # sandbox: this API's own payment page (no provider account needed); stripe: PaymentIntents,
    # with the API key and webhook secret put into Secrets Manager by an operator. A production
    # stage must name a real provider: the sandbox confirms any order for free.
    payment_provider: str = "sandbox"
    production: bool = False
    # The stage's public base URL (a custom domain) for links and the sandbox's webhook target;
    # None: the API's own execute-api URL (infra/stack.py). Never the request's Host header.
    # An operator setting (`-c public_base_url=...`, OPERATOR_SETTINGS).
    public_base_url: str | None = None
    notification_from_address: str = "orders@example.com"  # an operator setting in production
    # Operations (infra/monitoring.py, docs/decisions/0026-monitoring.md). Alarms go to one SNS
    # topic; `cdk deploy -c alarm_email=...` subscribes an address to it by email (an operator setting).
    alarm_email: str | None = None
    alarm_iterator_age_seconds: int = 60  # a stream consumer this far behind is alarmed
    alarm_api_5xx_rate: float = 0.01  # share of API requests answered 5xx, per 5 minutes
    alarm_api_p99_latency_ms: int = 3000
    alarm_lambda_errors: int = 1  # errors per function group per 5 minutes
    alarm_notification_age_seconds: int = 900  # the oldest undelivered notification
    alarm_checkout_failed_ratio: float = 0.5  # refusals are failed executions too: alarm on the share
    alarm_availability_degraded_ratio: float = 0.5  # pages reading stock from the table
    alarm_product_cache_hit_ratio: float = 0.8  # below this, the product cache is not doing its job (target 0.95)
    # Bulkhead (docs/decisions/0027-checkout-resilience.md): reserved concurrency per checkout-path
    # function, by construct id. Reserved = guaranteed AND capped: a browse spike cannot starve
    # checkout, and checkout cannot exhaust the account's pool. Empty = the shared pool (dev).
    reserved_concurrency: tuple[tuple[str, int], ...] = ()
    # Browser origins (scheme://host[:port]) allowed to call the API (ADR 0021): API Gateway answers
    # their preflight, and responses carry Access-Control-Allow-Origin for them only. Empty: no CORS.
    # An operator setting (`-c cors_allowed_origins=https://a.example,https://b.example`).
    cors_allowed_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.payment_provider not in PAYMENT_PROVIDERS:
            raise ValueError(f"stage {self.name!r}: unknown payment_provider {self.payment_provider!r} ({' | '.join(PAYMENT_PROVIDERS)})")
        if self.production and self.payment_provider not in REAL_PAYMENT_PROVIDERS:
            raise ValueError(
                f"stage {self.name!r} is a production stage and cannot take payments through "
                f"{self.payment_provider!r}: set payment_provider to one of {', '.join(REAL_PAYMENT_PROVIDERS)}"
            )


PAYMENT_PROVIDERS = ("sandbox", "stripe")
REAL_PAYMENT_PROVIDERS = ("stripe",)


# The checkout path's functions (POST /orders, the cart it reads, the saga steps up to the
# payment page, the webhook that confirms) and what each may use at most in prod.
CHECKOUT_BULKHEAD: tuple[tuple[str, int], ...] = (
    ("OrdersCreateOrder", 50),
    ("CartGetCart", 50),
    ("CartAddItem", 50),
    ("CartUpdateItem", 20),
    ("CheckoutValidateCart", 50),
    ("CheckoutReserveStock", 50),
    ("CheckoutCreateOrder", 50),
    ("CheckoutCreatePaymentIntent", 50),
    ("PaymentsWebhook", 50),
)

STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        removal_policy=RemovalPolicy.DESTROY,
        deletion_protection=False,
        log_retention=logs.RetentionDays.ONE_WEEK,
        api_rate_limit=50,
        api_burst_limit=100,
        log_level="DEBUG",
        auto_confirm_sign_up=True,
        load_generator_cidrs=("127.0.0.1/32",),
        cors_allowed_origins=("http://localhost:5173",),  # a storefront's dev server (Vite's default port)
    ),
    "prod": StageConfig(
        name="prod",
        removal_policy=RemovalPolicy.RETAIN,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        api_rate_limit=1000,
        api_burst_limit=2000,
        cache_max_data_gb=5,
        cache_max_ecpu_per_second=50000,
        reserved_concurrency=CHECKOUT_BULKHEAD,
        production=True,  # its operator settings come from the CDK context (OPERATOR_SETTINGS)
        payment_provider="stripe",
    ),
}


def stage_config(name: str, payment_provider: str | None = None) -> StageConfig:
    """The stage's configuration; `payment_provider` (`cdk synth -c payment_provider=...`)
    overrides the stage's, and a production stage refuses the sandbox (ValueError)."""
    try:
        config = STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; choose one of {sorted(STAGES)}") from None
    return replace(config, payment_provider=payment_provider) if payment_provider else config


# What an operator must choose for a production stage, as CDK context keys (each is the StageConfig
# field it sets), with the example the refusal shows. `cdk deploy -c key=value`, or the same keys in
# cdk.context.json: never this file. A development stage keeps its defaults for the keys not given.
OPERATOR_SETTINGS: dict[str, str] = {
    "alarm_email": "ops@example.com",  # subscribed to the alerts topic
    "notification_from_address": "orders@shop.example.com",  # SES sender: its domain verified in SES
    "cors_allowed_origins": "https://shop.example.com",  # comma-separated: the storefront's origins
    "public_base_url": "https://api.shop.example.com",  # links and webhooks: a custom domain mapped to the API
}


def with_operator_settings(config: StageConfig, context: Callable[[str], Any]) -> StageConfig:
    """`config` with the operator settings `context` (the app's `try_get_context`) gives. A
    production stage refuses to build without all of them (ValueError naming every missing key)."""
    given: dict[str, Any] = {}
    for key in OPERATOR_SETTINGS:
        value = context(key)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == []:
            continue
        if key == "cors_allowed_origins":
            origins = value.split(",") if isinstance(value, str) else value
            value = tuple(origin.strip() for origin in origins if origin.strip())
        elif not isinstance(value, str):
            raise ValueError(f"context {key!r}: a string, not {value!r}")
        given[key] = value
    missing = [key for key in OPERATOR_SETTINGS if key not in given]
    if config.production and missing:
        example = " ".join(f"-c {key}={OPERATOR_SETTINGS[key]}" for key in missing)
        raise ValueError(
            f"stage {config.name!r} is a production stage: its operator settings come from the CDK context, "
            f"never from infra/config.py, and these are missing: {', '.join(missing)}. "
            f"Set them, e.g. npx cdk synth -c stage={config.name} {example} (README, Deploying to AWS)"
        )
    if "alarm_email" in given and "@" not in given["alarm_email"]:
        raise ValueError(f"context 'alarm_email': an email address, not {given['alarm_email']!r}")
    if "public_base_url" in given:
        if not given["public_base_url"].startswith("https://"):
            raise ValueError(f"context 'public_base_url': an https:// URL, not {given['public_base_url']!r}")
        given["public_base_url"] = given["public_base_url"].rstrip("/")
    return replace(config, **given)
