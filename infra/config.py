"""Per-stage configuration (dev, prod), chosen with `cdk deploy -c stage=prod`."""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    login_max_failures: int = 5  # per email per minute, then a growing lock-out
    # sandbox: this API's own payment page (no provider account needed); stripe: PaymentIntents,
    # with the API key and webhook secret put into Secrets Manager by an operator. A production
    # stage must name a real provider: the sandbox confirms any order for free.
    payment_provider: str = "sandbox"
    production: bool = False
    # The stage's public base URL (a custom domain) for links and the sandbox's webhook target;
    # None: the API's own execute-api URL (infra/stack.py). Never the request's Host header.
    public_base_url: str | None = None
    notification_from_address: str = "orders@example.com"

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
        production=True,
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
