"""Per-stage configuration (dev, prod), chosen with `cdk deploy -c stage=prod`."""

from __future__ import annotations

from dataclasses import dataclass

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
    # with the API key and webhook secret put into Secrets Manager by an operator.
    payment_provider: str = "sandbox"
    notification_from_address: str = "orders@example.com"
    # Browser origins (scheme://host[:port]) allowed to call the API (ADR 0021): API Gateway answers
    # their preflight, and responses carry Access-Control-Allow-Origin for them only. Empty: no CORS.
    cors_allowed_origins: tuple[str, ...] = ()


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
        cors_allowed_origins=("https://shop.example.com",),  # the storefront's origin: set yours
    ),
}


def stage_config(name: str) -> StageConfig:
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; choose one of {sorted(STAGES)}") from None
