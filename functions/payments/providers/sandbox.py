"""The sandbox provider: no external calls; its payment page is served by this API.

The buyer's page (functions/payments/handlers/sandbox_page.py) POSTs an outcome, and the page sends the
event `sandbox_event` builds: Standard Webhooks-signed with the current webhook secret, exactly
what a real provider would send, so the webhook handler cannot tell the difference.
"""

from __future__ import annotations

import json
from dataclasses import replace

from functions.payments.events import standard_event
from functions.payments.providers import FINAL_EVENT_TYPES, Intent, PaymentRequest, ProviderEvent
from functions.payments.signatures import InvalidSignature, sign_standard_webhook, verify_standard_webhook, webhook_secrets
from shared.ids import new_id

SANDBOX_PAGE_PREFIX = "/api/v1/sandbox/payments/"
OUTCOMES = tuple(event_type.removeprefix("payment.") for event_type in FINAL_EVENT_TYPES)  # succeeded, failed, refunded


class SandboxProvider:
    name = "sandbox"

    def create_intent(self, request: PaymentRequest) -> Intent:
        """The same intent for the same payment id, every time: nothing is stored or called."""
        return Intent(provider_ref=request.payment_id, payment_path=f"{SANDBOX_PAGE_PREFIX}{request.payment_id}")

    def refund(self, request: PaymentRequest, provider_ref: str, amount: int | None = None, idempotency_key: str | None = None) -> str:
        """Deterministic reference, so refunding twice (same key) is refunding once."""
        return f"sandbox_refund_{request.payment_id}" + (f"_{idempotency_key}" if idempotency_key else "")

    def parse_webhook(self, body: str, headers: dict[str, str]) -> ProviderEvent:
        """InvalidSignature unless signed by the current or previous secret within 5 minutes;
        MalformedEvent (functions.payments.events) if signed but not a readable event."""
        event = verify_standard_webhook(body, headers, webhook_secrets())
        event_id = {key.lower(): value for key, value in (headers or {}).items()}.get("webhook-id")
        if not event_id:  # verify_standard_webhook already requires it; never de-duplicate on None
            raise InvalidSignature("missing webhook-id")
        parsed = standard_event(event_id, event)
        return replace(parsed, provider_ref=parsed.payment_id)  # the sandbox's ref IS our payment id


def sandbox_event(payment_id: str, outcome: str, amount: int, currency: str) -> tuple[str, dict[str, str]]:
    """The webhook the sandbox sends for `outcome` ("succeeded" | "failed"; "refunded" too):
    (body, headers), under a new `msg_<ULID>` webhook id, signed with the current secret."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown sandbox outcome {outcome!r} ({' | '.join(OUTCOMES)})")
    body = json.dumps(
        {"type": f"payment.{outcome}", "data": {"payment_id": payment_id, "amount": amount, "currency": currency.upper()}},
        separators=(",", ":"),
    )
    return body, sign_standard_webhook(body, webhook_secrets()[0], f"msg_{new_id()}")
