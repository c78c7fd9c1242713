"""The payment provider's secrets in Secrets Manager (never in code or environment values).

- Webhook secret: `{"current": ..., "previous": ...}`; a signature by either is accepted, so a
  rotation (current -> previous, a new current) has no window of rejected webhooks
  (ops/rotate_webhook_secret.py). The sandbox signs with it; for Stripe an operator puts the
  endpoint's `whsec_...` there.
- Stripe API key (stripe stages only), put there by an operator.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import StageConfig
from infra.topology import PaymentSecret

NAG_REASON = (
    "Rotation is two-phase and provider-driven (the provider must learn the new secret first); "
    "operators run ops/rotate_webhook_secret.py, which keeps the previous secret valid meanwhile."
)


class PaymentSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # 32 alphanumerics are valid base64 (24 random bytes), as Standard Webhooks secrets must be.
        self.webhook_secret = secretsmanager.Secret(
            self, "WebhookSecret",
            description="Payment webhook signing secrets: {current, previous}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"previous": ""}', generate_string_key="current",
                password_length=32, exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.DESTROY if config.removal_policy == RemovalPolicy.DESTROY else RemovalPolicy.RETAIN,
        )
        Validations.of(self.webhook_secret).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-SMG4", reason=NAG_REASON))
        # Every function learns the stage's provider; each secret (grant and variable) goes only to
        # the functions whose topology entry names its kind (infra/topology.py PaymentSecret).
        self.environment = {"PAYMENT_PROVIDER": config.payment_provider}
        self.secrets: dict[PaymentSecret, list[secretsmanager.Secret]] = {
            PaymentSecret.WEBHOOK: [self.webhook_secret], PaymentSecret.PROVIDER_API: [],
        }
        self.secret_environment: dict[PaymentSecret, dict[str, str]] = {
            PaymentSecret.WEBHOOK: {"PAYMENT_WEBHOOK_SECRET_ARN": self.webhook_secret.secret_arn},
            PaymentSecret.PROVIDER_API: {},
        }
        self.api_key: secretsmanager.Secret | None = None
        if config.payment_provider == "stripe":
            self.api_key = secretsmanager.Secret(self, "StripeApiKey", description="Stripe secret API key: {api_key}")
            Validations.of(self.api_key).acknowledge(Acknowledgment(
                id="AwsSolutions::AwsSolutions-SMG4", reason="Stripe issues API keys; operators roll them in Stripe's dashboard."))
            self.secrets[PaymentSecret.PROVIDER_API].append(self.api_key)
            self.secret_environment[PaymentSecret.PROVIDER_API]["STRIPE_API_KEY_SECRET_ARN"] = self.api_key.secret_arn
