"""Webhook signature verification: Standard Webhooks and Stripe, with secret rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

import pytest

from functions.payments.signatures import (
    InvalidSignature,
    sign_standard_webhook,
    verify_standard_webhook,
    verify_stripe_webhook,
)

CURRENT = "whsec_" + base64.b64encode(os.urandom(24)).decode()
PREVIOUS = "whsec_" + base64.b64encode(os.urandom(24)).decode()
BODY = json.dumps({"type": "payment.succeeded", "data": {"payment_id": "pay_1", "amount": 2499, "currency": "USD"}})


def test_a_signed_event_is_accepted_and_parsed():
    headers = sign_standard_webhook(BODY, CURRENT, "msg_1")
    assert verify_standard_webhook(BODY, headers, [CURRENT, PREVIOUS])["data"]["amount"] == 2499


def test_during_rotation_the_previous_secret_still_verifies():
    # GIVEN a provider still signing with the previous secret
    headers = sign_standard_webhook(BODY, PREVIOUS, "msg_2")
    # THEN it is accepted while both secrets are configured, and refused once it is retired
    assert verify_standard_webhook(BODY, headers, [CURRENT, PREVIOUS])["type"] == "payment.succeeded"
    with pytest.raises(InvalidSignature):
        verify_standard_webhook(BODY, headers, [CURRENT])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body.replace("2499", "1"), h),  # the amount changed after signing
        lambda body, h: (body, {**h, "webhook-id": "msg_other"}),  # replayed under another id
        lambda body, h: (body, {**h, "webhook-signature": "v1,AAAA"}),
        lambda body, h: (body, {**h, "webhook-signature": "garbage"}),  # no version, no comma
        lambda body, h: (body, {**h, "webhook-signature": "v1,not base64!!"}),
        lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-timestamp"}),
        lambda body, h: (body, {**h, "webhook-timestamp": "yesterday"}),
    ],
)
def test_anything_not_exactly_signed_is_an_invalid_signature(tamper):
    body, headers = tamper(BODY, sign_standard_webhook(BODY, CURRENT, "msg_3"))
    with pytest.raises(InvalidSignature):
        verify_standard_webhook(body, headers, [CURRENT, PREVIOUS])


@pytest.mark.parametrize("age", [-301, 301])
def test_timestamps_outside_five_minutes_are_refused(age):
    headers = sign_standard_webhook(BODY, CURRENT, "msg_4", timestamp=time.time() - age)
    with pytest.raises(InvalidSignature):
        verify_standard_webhook(BODY, headers, [CURRENT])


def _stripe_header(body: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_stripe_signatures_verify_with_rotation_and_tolerance():
    event = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}})
    assert verify_stripe_webhook(event, _stripe_header(event, "whsec_old"), ["whsec_new", "whsec_old"])["id"] == "evt_1"
    for header in (_stripe_header(event, "whsec_other"), _stripe_header(event, "whsec_new", int(time.time()) - 600), "t=1", None):
        with pytest.raises(InvalidSignature):
            verify_stripe_webhook(event, header, ["whsec_new", "whsec_old"])
