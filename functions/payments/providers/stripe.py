"""The Stripe provider: PaymentIntents, refunds and `Stripe-Signature` webhooks.

`stripe` (16.5 MB) ships in the payments-only layer (infra/layer.py PaymentsLayer), so it is
imported inside the methods: importing this module costs nothing where the layer is absent.

- API key: the secret named by STRIPE_API_KEY_SECRET_ARN (SecretString: the key itself, or
  `{"api_key": "sk_..."}`), cached for 5 minutes per execution environment like the webhook
  secrets, so a rotated key is picked up quickly.
- STRIPE_API_BASE overrides https://api.stripe.com (tests point it at a local stub server).
- Every call carries an idempotency key derived from our payment id (`intent-<id>`,
  `refund-<id>`): a retried saga task gets the same PaymentIntent or refund back from Stripe,
  never a second one (Stripe keeps idempotency keys for at least 24 hours).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from functions.payments.events import MalformedEvent, optional_amount, optional_currency, optional_str, require_object
from functions.payments.providers import Intent, PaymentRequest, ProviderEvent
from functions.payments.signatures import SECRETS_CACHE_SECONDS, verify_stripe_webhook, webhook_secrets

# Stripe's event types -> ours; any other type is acknowledged and ignored (not final).
EVENT_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "charge.refunded": "payment.refunded",
}
MAX_NETWORK_RETRIES = 2  # safe: retries resend the same idempotency key

_api_keys: dict[str, tuple[float, str]] = {}
_clients: dict[tuple[str, str | None], Any] = {}


def api_key() -> str:
    """The Stripe secret key from STRIPE_API_KEY_SECRET_ARN (cached for 5 minutes per ARN)."""
    arn = os.environ["STRIPE_API_KEY_SECRET_ARN"]
    cached = _api_keys.get(arn)
    if cached and time.monotonic() - cached[0] < SECRETS_CACHE_SECONDS:
        return cached[1]
    import boto3

    from shared.aws import config

    raw = boto3.client("secretsmanager", config=config("secretsmanager")).get_secret_value(SecretId=arn)["SecretString"].strip()
    key = raw
    if raw.startswith("{"):
        key = json.loads(raw).get("api_key") or ""
    if not key:
        raise RuntimeError(f"the secret {arn} holds no Stripe API key")
    _api_keys[arn] = (time.monotonic(), key)
    return key


def _client() -> Any:
    """A StripeClient for the current key and API base (one per pair, reused across invocations)."""
    import stripe

    key, base = api_key(), os.environ.get("STRIPE_API_BASE") or None
    client = _clients.get((key, base))
    if client is None:
        _clients.clear()  # a rotated key: drop the old client
        client = _clients[(key, base)] = stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
        )
    return client


def _signature_header(headers: dict[str, str]) -> str | None:
    return next((value for name, value in (headers or {}).items() if name.lower() == "stripe-signature"), None)


class StripeProvider:
    name = "stripe"

    def create_intent(self, request: PaymentRequest) -> Intent:
        """A PaymentIntent (automatic payment methods); the buyer pays client-side with its secret."""
        intent = _client().v1.payment_intents.create(
            params={
                "amount": request.amount,
                "currency": request.currency.lower(),
                "metadata": {"payment_id": request.payment_id, "order_id": request.order_id},
                "automatic_payment_methods": {"enabled": True},
            },
            options={"idempotency_key": f"intent-{request.payment_id}"},
        )
        return Intent(provider_ref=intent.id, payment_path=None, payment_url=None, client_secret=getattr(intent, "client_secret", None))

    def refund(self, request: PaymentRequest, provider_ref: str, amount: int | None = None, idempotency_key: str | None = None) -> str:
        """Refund `amount` of the PaymentIntent (None: what is left of it); returns the refund id (re_...)."""
        params: dict[str, Any] = {
            "payment_intent": provider_ref,
            "metadata": {"payment_id": request.payment_id, "order_id": request.order_id},
        }
        if amount is not None:
            params["amount"] = amount
        refund = _client().v1.refunds.create(
            params=params, options={"idempotency_key": idempotency_key or f"refund-{request.payment_id}"},
        )
        return refund.id

    def parse_webhook(self, body: str, headers: dict[str, str]) -> ProviderEvent:
        """InvalidSignature unless `Stripe-Signature` verifies with the current or previous secret
        within 5 minutes; MalformedEvent if genuine but not an event we can read."""
        event = verify_stripe_webhook(body, _signature_header(headers), webhook_secrets())
        event_id = optional_str(event.get("id"), "id")
        stripe_type = optional_str(event.get("type"), "type")
        if event_id is None or stripe_type is None:
            raise MalformedEvent("a Stripe event needs an id and a type")
        ours = EVENT_TYPES.get(stripe_type)
        if ours is None:
            return ProviderEvent(event_id=event_id, type=stripe_type, payment_id=None, amount=None, currency=None)

        obj = require_object(require_object(event.get("data"), "data").get("object"), "data.object")
        metadata = obj.get("metadata") or {}
        payment_id = optional_str(require_object(metadata, "data.object.metadata").get("payment_id"), "metadata.payment_id")
        if stripe_type == "charge.refunded":
            amount_field = "amount_refunded" if obj.get("amount_refunded") is not None else "amount"
            provider_ref = obj.get("payment_intent")
            if isinstance(provider_ref, dict):  # expanded
                provider_ref = provider_ref.get("id")
        else:
            amount_field = "amount_received" if stripe_type == "payment_intent.succeeded" else "amount"
            if obj.get(amount_field) is None:
                amount_field = "amount"
            provider_ref = obj.get("id")
        return ProviderEvent(
            event_id=event_id,
            type=ours,
            payment_id=payment_id,  # None: not one of ours, or a charge without the intent's metadata
            amount=optional_amount(obj.get(amount_field), f"data.object.{amount_field}"),
            currency=optional_currency(obj.get("currency"), "data.object.currency"),
            provider_ref=optional_str(provider_ref, "data.object payment intent id"),
        )
