"""The payment providers: the sandbox (no external calls) and Stripe (against a local stub server).

Secrets come from Secrets Manager (the session's moto server), exactly as in Lambda:
PAYMENT_WEBHOOK_SECRET_ARN for the webhook secrets, STRIPE_API_KEY_SECRET_ARN for the Stripe key.
No test touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import boto3
import pytest

from functions.payments import signatures
from functions.payments.events import MalformedEvent
from functions.payments.providers import FINAL_EVENT_TYPES, Intent, PaymentRequest, provider
from functions.payments.providers import stripe as stripe_adapter
from functions.payments.providers.sandbox import SandboxProvider, sandbox_event
from functions.payments.providers.stripe import StripeProvider
from functions.payments.signatures import InvalidSignature, sign_standard_webhook, verify_standard_webhook
from shared.ids import is_prefixed_id

CURRENT = "whsec_" + base64.b64encode(os.urandom(24)).decode()
PREVIOUS = "whsec_" + base64.b64encode(os.urandom(24)).decode()
STRIPE_KEY = "sk_test_" + os.urandom(8).hex()
REQUEST = PaymentRequest(payment_id="pay_01JTESTORDER0000000000000", order_id="01JTESTORDER0000000000000", amount=2499, currency="USD")


def _clear_caches() -> None:
    signatures._cache.clear()
    stripe_adapter._api_keys.clear()
    stripe_adapter._clients.clear()


@pytest.fixture
def secrets(moto_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Webhook secrets {"current", "previous"} and a Stripe key, served by the session's moto server.

    (Not `moto.mock_aws`: it resets every moto backend of the process on start and stop, which would
    wipe the session's shared moto server and local stack under the tests that use them.)"""
    _clear_caches()
    client = boto3.client("secretsmanager")
    suffix = uuid.uuid4().hex
    webhook = client.create_secret(Name=f"payments/webhook-{suffix}", SecretString=json.dumps({"current": CURRENT, "previous": PREVIOUS}))
    api_key = client.create_secret(Name=f"payments/stripe-api-key-{suffix}", SecretString=STRIPE_KEY)
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET_ARN", webhook["ARN"])
    monkeypatch.setenv("STRIPE_API_KEY_SECRET_ARN", api_key["ARN"])
    yield {"webhook": webhook["ARN"], "api_key": api_key["ARN"]}
    for arn in (webhook["ARN"], api_key["ARN"]):
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    _clear_caches()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected network call: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- sandbox ------------------------------------------------------------------------------------
def test_the_sandbox_intent_is_its_own_page_and_the_same_every_time(no_network):
    # GIVEN the sandbox provider (and no network at all)
    sandbox = SandboxProvider()

    # WHEN the intent is created twice for the same payment (a retried saga task)
    first, second = sandbox.create_intent(REQUEST), sandbox.create_intent(REQUEST)

    # THEN both are the same intent: our payment id as the ref, the API's own sandbox page as the path
    assert first == second == Intent(
        provider_ref=REQUEST.payment_id, payment_path=f"/api/v1/sandbox/payments/{REQUEST.payment_id}"
    )
    assert first.payment_url is None and first.client_secret is None
    assert sandbox.name == "sandbox"


def test_a_sandbox_refund_is_deterministic_so_refunding_twice_is_refunding_once(no_network):
    # GIVEN the sandbox provider and a paid intent
    sandbox = SandboxProvider()
    ref = sandbox.create_intent(REQUEST).provider_ref

    # WHEN it is refunded twice
    refunds = {sandbox.refund(REQUEST, ref), sandbox.refund(REQUEST, ref)}

    # THEN one refund reference, derived from the payment id
    assert refunds == {f"sandbox_refund_{REQUEST.payment_id}"}


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_the_sandbox_event_verifies_through_the_sandbox_provider(secrets, outcome):
    # GIVEN what the sandbox page sends for an outcome
    body, headers = sandbox_event(REQUEST.payment_id, outcome, REQUEST.amount, "usd")

    # WHEN the webhook handler parses it (headers as API Gateway may capitalize them)
    event = SandboxProvider().parse_webhook(body, {name.title(): value for name, value in headers.items()})

    # THEN it is the final event for that payment, de-duplicated on the webhook id
    assert event.type == f"payment.{outcome}" and event.final
    assert (event.payment_id, event.amount, event.currency) == (REQUEST.payment_id, 2499, "USD")
    assert event.provider_ref == REQUEST.payment_id
    assert event.event_id == headers["webhook-id"] and is_prefixed_id(event.event_id, "msg")


def test_every_sandbox_event_has_a_new_id_and_is_signed_with_the_current_secret(secrets):
    # GIVEN two events for the same payment
    (body, first), (_, second) = (sandbox_event(REQUEST.payment_id, "succeeded", 2499, "USD") for _ in range(2))

    # THEN they are two messages, not one sent twice
    assert first["webhook-id"] != second["webhook-id"]
    # AND the current secret signed them (the previous one does not verify them)
    assert verify_standard_webhook(body, first, [CURRENT])["data"]["payment_id"] == REQUEST.payment_id
    with pytest.raises(InvalidSignature):
        verify_standard_webhook(body, first, [PREVIOUS])


def test_an_unknown_sandbox_outcome_is_refused(secrets):
    with pytest.raises(ValueError, match="outcome"):
        sandbox_event(REQUEST.payment_id, "maybe", 2499, "USD")


def _signed(event: dict, secret: str = CURRENT, message_id: str = "msg_test", timestamp: float | None = None):
    body = json.dumps(event)
    return body, sign_standard_webhook(body, secret, message_id, timestamp=timestamp)


SUCCEEDED = {"type": "payment.succeeded", "data": {"payment_id": REQUEST.payment_id, "amount": 2499, "currency": "USD"}}


def test_during_rotation_an_event_signed_with_the_previous_secret_is_accepted(secrets):
    # GIVEN an event signed with the previous secret (the provider has not switched yet)
    body, headers = _signed(SUCCEEDED, PREVIOUS, "msg_prev")

    # WHEN it is parsed
    event = SandboxProvider().parse_webhook(body, headers)

    # THEN it is accepted
    assert (event.event_id, event.type, event.amount) == ("msg_prev", "payment.succeeded", 2499)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda: (_signed(SUCCEEDED)[0].replace("2499", "1"), _signed(SUCCEEDED)[1]), id="tampered-amount"),
        pytest.param(lambda: _signed(SUCCEEDED, timestamp=time.time() - 301), id="stale"),
        pytest.param(lambda: _signed(SUCCEEDED, timestamp=time.time() + 301), id="future"),
        pytest.param(lambda: _signed(SUCCEEDED, "whsec_" + base64.b64encode(b"someone else entirely!!").decode()), id="unknown-secret"),
        pytest.param(lambda: (_signed(SUCCEEDED)[0], {}), id="unsigned"),
    ],
)
def test_a_webhook_not_exactly_signed_by_a_current_secret_is_refused(secrets, forge):
    # GIVEN a forged, altered, stale or unsigned webhook
    body, headers = forge()

    # WHEN / THEN it is an invalid signature (a 400; nothing changes)
    with pytest.raises(InvalidSignature):
        SandboxProvider().parse_webhook(body, headers)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "payment.succeeded", "data": {"payment_id": REQUEST.payment_id}},
        {"type": "payment.failed", "data": {"payment_id": REQUEST.payment_id, "amount": "2499", "currency": "USD"}},
        {"type": "payment.refunded", "data": {"payment_id": REQUEST.payment_id, "amount": True, "currency": "USD"}},
        {"type": "payment.succeeded", "data": "pay_1"},
        {"data": {"payment_id": REQUEST.payment_id, "amount": 1, "currency": "USD"}},
    ],
)
def test_a_genuine_but_malformed_event_is_a_malformed_event_not_a_signature_problem(secrets, event):
    # GIVEN a correctly signed body that does not carry what its type needs
    body, headers = _signed(event)

    # WHEN / THEN it is rejected as malformed
    with pytest.raises(MalformedEvent):
        SandboxProvider().parse_webhook(body, headers)


def test_a_signed_event_of_another_type_is_acknowledged_but_not_final(secrets):
    body, headers = _signed({"type": "payment.pending", "data": {"payment_id": REQUEST.payment_id}})
    event = SandboxProvider().parse_webhook(body, headers)
    assert (event.type, event.payment_id, event.final) == ("payment.pending", REQUEST.payment_id, False)


def test_the_stage_picks_the_provider(monkeypatch):
    monkeypatch.delenv("PAYMENT_PROVIDER", raising=False)
    assert isinstance(provider(), SandboxProvider)
    monkeypatch.setenv("PAYMENT_PROVIDER", "stripe")
    assert isinstance(provider(), StripeProvider) and provider().name == "stripe"
    with pytest.raises(ValueError):
        provider("paypal")


# --- stripe: API calls against a local stub ------------------------------------------------------
class StripeStub(ThreadingHTTPServer):
    """Answers POST /v1/payment_intents and /v1/refunds like Stripe: one object per idempotency key."""

    daemon_threads = True

    def __init__(self, id_prefix: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _StripeStubHandler)
        self.id_prefix = id_prefix  # Stripe's ids are unique for ever: a stub per test must not reuse them
        self.calls: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _StripeStubHandler(BaseHTTPRequestHandler):
    server: StripeStub

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        key = self.headers.get("Idempotency-Key")
        with self.server.lock:
            self.server.calls.append({"path": self.path, "idempotency_key": key, "authorization": self.headers.get("Authorization"), "form": form})
            if self.path == "/v1/payment_intents":
                number = len(self.server.by_key) + 1
                intent_id = f"pi_{self.server.id_prefix}{number}"
                created = {"id": intent_id, "object": "payment_intent", "client_secret": f"{intent_id}_secret_x",
                           "amount": int(form["amount"]), "currency": form["currency"], "status": "requires_payment_method",
                           "metadata": {"payment_id": form.get("metadata[payment_id]"), "order_id": form.get("metadata[order_id]")}}
            elif self.path == "/v1/refunds":
                created = {"id": f"re_{self.server.id_prefix}{len(self.server.by_key) + 1}", "object": "refund", "status": "succeeded",
                           "payment_intent": form["payment_intent"]}
            else:
                self.send_error(404)
                return
            answer = self.server.by_key.setdefault(key, created) if key else created
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def stripe_stub(secrets, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeStub]:
    server = StripeStub()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("STRIPE_API_BASE", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield server
    server.shutdown()
    server.server_close()


def test_a_stripe_intent_is_created_once_per_payment(stripe_stub):
    # GIVEN the Stripe provider, its key in Secrets Manager, Stripe's API stubbed locally
    stripe = StripeProvider()

    # WHEN the intent is created twice for the same payment (a retried saga task)
    first, second = stripe.create_intent(REQUEST), stripe.create_intent(REQUEST)

    # THEN Stripe got the same idempotency key twice and so returned the same PaymentIntent
    assert [call["idempotency_key"] for call in stripe_stub.calls] == [f"intent-{REQUEST.payment_id}"] * 2
    assert first == second == Intent(provider_ref="pi_1", payment_path=None, payment_url=None, client_secret="pi_1_secret_x")
    # AND the request carried the amount in minor units, lower-case currency, our ids as metadata
    form = stripe_stub.calls[0]["form"]
    assert form["amount"] == "2499" and form["currency"] == "usd"
    assert form["metadata[payment_id]"] == REQUEST.payment_id and form["metadata[order_id]"] == REQUEST.order_id
    assert form["automatic_payment_methods[enabled]"] == "true"
    # AND it was authenticated with the key from Secrets Manager
    assert stripe_stub.calls[0]["authorization"] == f"Bearer {STRIPE_KEY}"


def test_a_stripe_refund_is_idempotent_on_the_payment(stripe_stub):
    # GIVEN an intent
    stripe = StripeProvider()
    ref = stripe.create_intent(REQUEST).provider_ref

    # WHEN it is refunded twice
    refunds = {stripe.refund(REQUEST, ref), stripe.refund(REQUEST, ref)}

    # THEN one refund of that PaymentIntent, under the payment's refund key
    refund_calls = [call for call in stripe_stub.calls if call["path"] == "/v1/refunds"]
    assert len(refunds) == 1 and refunds.pop().startswith("re_")
    assert [call["idempotency_key"] for call in refund_calls] == [f"refund-{REQUEST.payment_id}"] * 2
    assert {call["form"]["payment_intent"] for call in refund_calls} == {ref}


def test_the_stripe_key_may_be_stored_as_json(stripe_stub, secrets):
    # GIVEN the key stored as {"api_key": ...}
    boto3.client("secretsmanager").put_secret_value(SecretId=secrets["api_key"], SecretString=json.dumps({"api_key": "sk_test_json"}))
    _clear_caches()

    # WHEN an intent is created
    StripeProvider().create_intent(REQUEST)

    # THEN that key authenticates the call
    assert stripe_stub.calls[-1]["authorization"] == "Bearer sk_test_json"


# --- stripe: webhooks -----------------------------------------------------------------------------
def _stripe_signed(event: dict, secret: str = CURRENT, timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    """Signed by the stripe package itself, as Stripe's servers sign: `t=<ts>,v1=<hex HMAC-SHA256 of "{t}.{body}">`."""
    import stripe

    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    timestamp_part, signature_part = header.split(",")
    digest = hmac.new(secret.encode(), f"{timestamp_part.removeprefix('t=')}.{body}".encode(), hashlib.sha256).hexdigest()
    assert signature_part == f"v1={digest}"  # the scheme the adapter's stripe.Webhook.construct_event verifies
    return body, {"stripe-signature": header}


def _stripe_event(event_type: str, obj: dict, event_id: str = "evt_1") -> dict:
    return {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}


INTENT = {"id": "pi_9", "object": "payment_intent", "amount": 2499, "amount_received": 2499, "currency": "usd",
          "metadata": {"payment_id": REQUEST.payment_id, "order_id": REQUEST.order_id}}


@pytest.mark.parametrize(
    ("stripe_type", "obj", "expected"),
    [
        ("payment_intent.succeeded", INTENT, ("payment.succeeded", REQUEST.payment_id, 2499, "USD", "pi_9")),
        ("payment_intent.payment_failed", {**INTENT, "amount_received": 0}, ("payment.failed", REQUEST.payment_id, 2499, "USD", "pi_9")),
        (
            "charge.refunded",
            {"id": "ch_9", "object": "charge", "amount": 2499, "amount_refunded": 2499, "currency": "usd",
             "payment_intent": "pi_9", "metadata": {"payment_id": REQUEST.payment_id}},
            ("payment.refunded", REQUEST.payment_id, 2499, "USD", "pi_9"),
        ),
        (
            "charge.refunded",
            {"id": "ch_9", "object": "charge", "amount": 2499, "amount_refunded": 2499, "currency": "usd",
             "payment_intent": "pi_9", "metadata": {}},
            ("payment.refunded", None, 2499, "USD", "pi_9"),
        ),
        (
            # a partial refund: amount_refunded is the charge's cumulative refunded amount
            "charge.refunded",
            {"id": "ch_9", "object": "charge", "amount": 2499, "amount_refunded": 700, "refunded": False, "currency": "usd",
             "payment_intent": {"id": "pi_9", "object": "payment_intent"}, "metadata": {}},
            ("payment.refunded", None, 700, "USD", "pi_9"),
        ),
    ],
    ids=["succeeded", "failed", "refunded", "refunded-without-metadata", "partially-refunded-expanded-intent"],
)
def test_stripe_events_are_translated_to_ours(secrets, stripe_type, obj, expected):
    # GIVEN a Stripe-signed event (header name as API Gateway lower-cases it)
    body, headers = _stripe_signed(_stripe_event(stripe_type, obj, "evt_42"))

    # WHEN it is parsed
    event = StripeProvider().parse_webhook(body, headers)

    # THEN it is our final event, de-duplicated on Stripe's event id
    assert (event.type, event.payment_id, event.amount, event.currency, event.provider_ref) == expected
    assert event.event_id == "evt_42" and event.final


def test_other_stripe_events_are_acknowledged_and_ignored(secrets):
    body, headers = _stripe_signed(_stripe_event("payment_intent.created", INTENT))
    event = StripeProvider().parse_webhook(body, {"Stripe-Signature": headers["stripe-signature"]})
    assert (event.type, event.final, event.payment_id) == ("payment_intent.created", False, None)
    assert "payment_intent.created" not in FINAL_EVENT_TYPES


def test_a_stripe_event_signed_with_the_previous_secret_is_accepted(secrets):
    body, headers = _stripe_signed(_stripe_event("payment_intent.succeeded", INTENT), PREVIOUS)
    assert StripeProvider().parse_webhook(body, headers).type == "payment.succeeded"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body, h: (body.replace("2499", "1"), h), id="tampered"),
        pytest.param(lambda body, h: _stripe_signed(json.loads(body), timestamp=int(time.time()) - 301), id="stale"),
        pytest.param(lambda body, h: _stripe_signed(json.loads(body), "whsec_other"), id="unknown-secret"),
        pytest.param(lambda body, h: (body, {}), id="unsigned"),
        pytest.param(lambda body, h: (body, {"webhook-signature": "v1,AAAA"}), id="wrong-scheme"),
    ],
)
def test_a_stripe_webhook_not_signed_by_a_current_secret_is_refused(secrets, forge):
    body, headers = forge(*_stripe_signed(_stripe_event("payment_intent.succeeded", INTENT)))
    with pytest.raises(InvalidSignature):
        StripeProvider().parse_webhook(body, headers)


@pytest.mark.parametrize(
    "event",
    [
        {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {}},
        {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {**INTENT, "amount_received": "lots"}}},
        {"object": "event", "type": "payment_intent.succeeded", "data": {"object": INTENT}},
    ],
    ids=["no-object", "bad-amount", "no-id"],
)
def test_a_genuine_but_malformed_stripe_event_is_a_malformed_event(secrets, event):
    body, headers = _stripe_signed(event)
    with pytest.raises(MalformedEvent):
        StripeProvider().parse_webhook(body, headers)
