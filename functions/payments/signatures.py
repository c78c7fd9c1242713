"""Webhook signatures: Standard Webhooks (the sandbox and most providers) and Stripe's scheme.

Secrets rotate: the payments secret in Secrets Manager holds `{"current": "whsec_...",
"previous": "whsec_..."}` and a signature by either is accepted, so a provider can switch keys
without a window of rejected webhooks. Anything malformed is an InvalidSignature (a 400 at the
edge), never an exception that escapes as a 500. Tolerance: 5 minutes either way.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

TOLERANCE_SECONDS = 300
SECRETS_CACHE_SECONDS = 300
_cache: dict[str, tuple[float, list[str]]] = {}


class InvalidSignature(Exception):
    """Bad, stale or missing signature: reject the webhook and change nothing."""


def verify_standard_webhook(body: str, headers: dict[str, str], secrets: list[str]) -> dict[str, Any]:
    """The event if `body` is signed by one of `secrets` (Standard Webhooks), else InvalidSignature."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    if not all(lowered.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    for secret in secrets:
        try:
            event = Webhook(secret).verify(body, lowered)
        except WebhookVerificationError as exc:
            reason = str(exc)
            if "timestamp" in reason.lower():
                raise InvalidSignature(reason) from None  # stale for every secret alike
            continue
        except (ValueError, TypeError) as exc:  # a malformed signature list or base64
            raise InvalidSignature(f"malformed signature: {exc}") from None
        if not isinstance(event, dict):
            raise InvalidSignature("the signed body is not a JSON object")
        return event
    raise InvalidSignature("no signature matches a current secret")


def sign_standard_webhook(body: str, secret: str, message_id: str, timestamp: float | None = None) -> dict[str, str]:
    """Headers a Standard Webhooks sender attaches (the sandbox provider signs with this)."""
    from standardwebhooks.webhooks import Webhook

    sent_at = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


def verify_stripe_webhook(body: str, signature_header: str | None, secrets: list[str]) -> dict[str, Any]:
    """A Stripe event if `Stripe-Signature` matches one of `secrets`, else InvalidSignature."""
    import stripe

    if not signature_header:
        raise InvalidSignature("missing Stripe-Signature")
    for secret in secrets:
        try:
            stripe.Webhook.construct_event(body, signature_header, secret, tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            if "timestamp" in str(exc).lower() and "tolerance" in str(exc).lower():
                raise InvalidSignature(str(exc)) from None
            continue
        except ValueError as exc:  # the body is not JSON
            raise InvalidSignature(f"malformed body: {exc}") from None
        return json.loads(body)
    raise InvalidSignature("no signature matches a current secret")


def webhook_secrets() -> list[str]:
    """The accepted secrets, current first, from the secret named by PAYMENT_WEBHOOK_SECRET_ARN
    (cached for 5 minutes per execution environment, so a rotation is picked up quickly)."""
    arn = os.environ["PAYMENT_WEBHOOK_SECRET_ARN"]
    cached = _cache.get(arn)
    if cached and time.monotonic() - cached[0] < SECRETS_CACHE_SECONDS:
        return cached[1]
    import boto3

    from shared.aws import config

    value = json.loads(boto3.client("secretsmanager", config=config("secretsmanager")).get_secret_value(SecretId=arn)["SecretString"])
    secrets = [value[name] for name in ("current", "previous") if value.get(name)]
    _cache[arn] = (time.monotonic(), secrets)
    return secrets
