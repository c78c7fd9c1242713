"""Payment providers behind one interface; the stage picks one with PAYMENT_PROVIDER.

- `sandbox` (the default, and what the local stack runs): a payment page served by this API
  (functions/payments/handlers/sandbox_page.py); POSTing an outcome to it makes the sandbox send its
  Standard Webhooks-signed event, exactly as a real provider would.
- `stripe`: PaymentIntents, refunds and `Stripe-Signature` verification with the `stripe`
  package (shipped in a payments-only layer: it is too big for the shared one).

Every call is idempotent on our payment id (one payment per order), so a retried saga task can
never create a second intent or refund twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

FINAL_EVENT_TYPES = ("payment.succeeded", "payment.failed", "payment.refunded")


@dataclass(frozen=True)
class PaymentRequest:
    payment_id: str  # ours: pay_<order ulid>; the idempotency key of every provider call
    order_id: str
    amount: int  # minor units
    currency: str


@dataclass(frozen=True)
class Intent:
    provider_ref: str  # the provider's id for this payment (sandbox: our payment id; stripe: pi_...)
    payment_path: str | None  # the buyer's payment page under this API (sandbox), made absolute per request
    payment_url: str | None = None  # an absolute page elsewhere (a provider-hosted page), if any
    client_secret: str | None = None  # for the provider's client-side SDK (stripe)


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event in our terms. `type` is one of FINAL_EVENT_TYPES, or another
    provider type that we acknowledge and ignore (`final` False)."""

    event_id: str  # the provider's event id: webhooks are de-duplicated on it
    type: str
    payment_id: str | None
    amount: int | None
    currency: str | None
    # The provider's id of the payment (Intent.provider_ref), when the event carries it: the way to
    # find the payment if payment_id is None (a stripe charge.refunded without our metadata).
    provider_ref: str | None = None

    @property
    def final(self) -> bool:
        return self.type in FINAL_EVENT_TYPES


class PaymentProvider(Protocol):
    name: str

    def create_intent(self, request: PaymentRequest) -> Intent:
        """Create (or, for the same payment id, return again) the payment intent."""
        ...

    def refund(self, request: PaymentRequest, provider_ref: str, amount: int | None = None, idempotency_key: str | None = None) -> str:
        """Refund `amount` (None: all that is left); idempotent on `idempotency_key` (default: the
        payment id, i.e. the one whole refund); returns a refund reference."""
        ...

    def parse_webhook(self, body: str, headers: dict[str, str]) -> ProviderEvent:
        """Verify the signature (5-minute tolerance, current and previous secret) and translate the
        event; raises functions.payments.signatures.InvalidSignature for anything not genuine."""
        ...


def provider(name: str | None = None) -> PaymentProvider:
    chosen = (name or os.environ.get("PAYMENT_PROVIDER") or "sandbox").lower()
    if chosen == "sandbox":
        from functions.payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    if chosen == "stripe":
        from functions.payments.providers.stripe import StripeProvider

        return StripeProvider()
    raise ValueError(f"unknown PAYMENT_PROVIDER {chosen!r} (sandbox | stripe)")
