"""Stripe, end to end over HTTP on the local stack: events signed by the `stripe` package itself
(`stripe.WebhookSignature.generate_signature_header`, what `stripe.Webhook.construct_event`
verifies in the adapter) sent to the one fixed URL confirm, fail and refund orders; a forged, stale
or replayed one changes nothing.

The session's stack runs the dev template; `stripe_stage` switches its functions to the stripe
provider for one test (what a stripe stage's template sets: PAYMENT_PROVIDER=stripe and the API
key's secret), with Stripe's API served by the local stub of tests/payments/test_providers.py
(STRIPE_API_BASE). Everything else is the real path: the saga creates a PaymentIntent through the
stripe SDK, the webhook handler verifies Stripe-Signature with the stage's webhook secret.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest

from tests.checkout.conftest import checkout, payable, register, wait_for_order, wait_until
from tests.checkout.test_refunds import refund, seller_order_ids
from tests.payments.test_providers import StripeStub

STRIPE_URL = "/api/v1/payments/webhooks/stripe"


@pytest.fixture
def stripe_stage(local_stack) -> Iterator[StripeStub]:
    from functions.payments import signatures
    from functions.payments.providers import stripe as stripe_adapter

    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    key = client.create_secret(Name=f"payments/stripe-api-key-{uuid.uuid4().hex}", SecretString="sk_test_" + uuid.uuid4().hex)
    server = StripeStub(id_prefix=uuid.uuid4().hex[:10])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    switched = {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_BASE": server.url, "STRIPE_API_KEY_SECRET_ARN": key["ARN"],
                "NO_PROXY": "127.0.0.1,localhost"}
    saved = {name: os.environ.get(name) for name in switched}
    saved_runtime = {name: local_stack.runtime.environment.get(name) for name in switched}
    os.environ.update(switched)
    local_stack.runtime.environment.update(switched)
    stripe_adapter._api_keys.clear()
    stripe_adapter._clients.clear()
    try:
        yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for name, value in saved_runtime.items():
            if value is None:
                local_stack.runtime.environment.pop(name, None)
            else:
                local_stack.runtime.environment[name] = value
        stripe_adapter._api_keys.clear()
        stripe_adapter._clients.clear()
        signatures._cache.clear()
        server.shutdown()
        server.server_close()
        client.delete_secret(SecretId=key["ARN"], ForceDeleteWithoutRecovery=True)


@pytest.fixture
def webhook_secret(local_stack) -> str:
    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    arn = local_stack.runtime.environment["PAYMENT_WEBHOOK_SECRET_ARN"]
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])["current"]


def stripe_post(anonymous, secret: str, event: dict, timestamp: int | None = None, body: str | None = None):
    """POST the event to the fixed URL, signed by the stripe package as Stripe's servers sign it."""
    import stripe

    payload = json.dumps(event) if body is None else body
    header = stripe.WebhookSignature.generate_signature_header(json.dumps(event), secret, timestamp=timestamp)
    return anonymous.post(STRIPE_URL, data=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"})


def intent_event(event_type: str, order: dict, intent_id: str) -> dict:
    obj = {"id": intent_id, "object": "payment_intent", "amount": order["total"], "currency": "usd",
           "amount_received": order["total"] if event_type == "payment_intent.succeeded" else 0,
           "metadata": {"payment_id": order["payment"]["payment_id"], "order_id": order["order_id"]}}
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "data": {"object": obj}}


def refund_event(order: dict, intent_id: str, refunded: int) -> dict:
    """charge.refunded as Stripe sends it: a charge, carrying the intent's id but not its metadata."""
    obj = {"id": f"ch_{uuid.uuid4().hex[:12]}", "object": "charge", "amount": order["total"], "amount_refunded": refunded,
           "refunded": refunded == order["total"], "currency": "usd", "payment_intent": intent_id, "metadata": {}}
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "charge.refunded", "data": {"object": obj}}


@pytest.fixture
def stripe_order(stripe_stage, shopper, stocked_product):
    """stripe_order(api) -> (an order of the shopper, or of `api`, awaiting a Stripe payment, its
    PaymentIntent id). One cart has one unpaid order at a time: a second needs another shopper."""

    def make(api=None) -> tuple[dict, str]:
        buyer = api or shopper
        sku = stocked_product([10])["skus"][0]["sku_id"]
        assert buyer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
        created = checkout(buyer)
        try:
            order = payable(buyer, created)
        except AssertionError:
            current = buyer.get(f"/api/v1/orders/{created.json()['data']['order_id']}").json()["data"]
            raise AssertionError(json.dumps({"order": current, "stripe_calls": stripe_stage.calls})) from None
        assert order["payment"]["provider"] == "stripe" and order["payment"]["payment_url"] is None
        intent = stripe_stage.by_key[f"intent-{order['payment']['payment_id']}"]
        return order, intent["id"]

    return make


def test_stripe_signed_events_confirm_fail_and_refund_orders(
    local_stack, anonymous, shopper, seller, admin, webhook_secret, stripe_stage, stripe_order
):
    # GIVEN two orders (of two shoppers) whose PaymentIntents the saga created at Stripe (the stub)
    other = register(local_stack)
    (paid, paid_intent), (declined, declined_intent) = stripe_order(), stripe_order(other)
    client_secret = shopper.get(f"/api/v1/payments/{paid['payment']['payment_id']}").json()["data"]["client_secret"]
    assert client_secret == f"{paid_intent}_secret_x"
    # WHEN Stripe sends payment_intent.succeeded for one and payment_intent.payment_failed for the other
    succeeded = stripe_post(anonymous, webhook_secret, intent_event("payment_intent.succeeded", paid, paid_intent))
    failed = stripe_post(anonymous, webhook_secret, intent_event("payment_intent.payment_failed", declined, declined_intent))
    assert succeeded.status_code == 200 and failed.status_code == 200, (succeeded.text, failed.text)
    # THEN the first is confirmed and the second cancelled
    wait_for_order(shopper, paid["order_id"], ("CONFIRMED",))
    assert wait_for_order(other, declined["order_id"], ("CANCELLED",))["payment"]["status"] == "failed"
    # WHEN Stripe reports part of the paid one refunded (a charge: found by its PaymentIntent id)
    partial = stripe_post(anonymous, webhook_secret, refund_event(paid, paid_intent, 100))
    assert partial.status_code == 200 and partial.json()["data"]["outcome"] == "partially_refunded", partial.text
    current = shopper.get(f"/api/v1/orders/{paid['order_id']}").json()["data"]
    assert current["status"] == "CONFIRMED" and current["refunded_total"] == 100
    # AND then all of it
    full_event = refund_event(paid, paid_intent, paid["total"])
    assert stripe_post(anonymous, webhook_secret, full_event).status_code == 200
    refunded = wait_for_order(shopper, paid["order_id"], ("REFUNDED",))
    assert refunded["refunded_total"] == paid["total"] and refunded["payment"]["status"] == "refunded"
    assert paid["order_id"] not in seller_order_ids(seller)
    # AND a replay of an earlier event (the succeeded one) changes nothing
    replayed = stripe_post(anonymous, webhook_secret, intent_event("payment_intent.succeeded", paid, paid_intent))
    assert replayed.status_code == 200
    assert shopper.get(f"/api/v1/orders/{paid['order_id']}").json()["data"]["status"] == "REFUNDED"
    # AND the same delivery again is a duplicate
    again = stripe_post(anonymous, webhook_secret, full_event)
    assert again.status_code == 200 and again.json()["data"]["outcome"] == "duplicate"


def test_forged_stale_tampered_or_misdirected_stripe_events_change_nothing(anonymous, shopper, webhook_secret, stripe_stage, stripe_order):
    order, intent = stripe_order()
    event = intent_event("payment_intent.succeeded", order, intent)
    cases = {
        "forged": stripe_post(anonymous, "whsec_someone_else", event),
        "stale": stripe_post(anonymous, webhook_secret, event, timestamp=int(time.time()) - 600),
        "tampered": stripe_post(anonymous, webhook_secret, event, body=json.dumps(event).replace('"usd"', '"eur"')),
        "unsigned": anonymous.post(STRIPE_URL, data=json.dumps(event), headers={"Content-Type": "application/json"}),
        # genuine, but its intent is not this payment's: never confirm on it
        "other-intent": stripe_post(anonymous, webhook_secret, intent_event("payment_intent.succeeded", order, "pi_someone_else")),
    }
    for name, response in cases.items():
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["code"] == "INVALID_WEBHOOK", name
    # a stripe stage has no sandbox: its pay-for-free page and its webhook are not there
    free = anonymous.post(f"/api/v1/sandbox/payments/{order['payment']['payment_id']}", json={"outcome": "succeeded"})
    assert free.status_code == 404, free.text
    assert anonymous.post("/api/v1/payments/webhooks/sandbox", data="{}").status_code == 404
    # THEN the order still waits for its payment
    time.sleep(0.5)
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["status"] == "PENDING_PAYMENT" and current["payment"]["status"] == "pending"


def test_an_admin_refund_goes_through_stripe_with_the_amount_and_an_idempotency_key(
    anonymous, shopper, admin, webhook_secret, stripe_stage, stripe_order
):
    order, intent = stripe_order()
    assert stripe_post(anonymous, webhook_secret, intent_event("payment_intent.succeeded", order, intent)).status_code == 200
    wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    # WHEN an admin refunds 250 of it
    response = refund(admin, order["order_id"], {"amount": 250, "reason": "Goodwill"})
    assert response.status_code == 201, response.text
    # THEN Stripe was asked for exactly that, under a key that makes a retry the same refund
    calls = [call for call in stripe_stage.calls if call["path"] == "/v1/refunds"]
    assert [(c["form"]["payment_intent"], c["form"]["amount"]) for c in calls] == [(intent, "250")]
    assert calls[0]["idempotency_key"] == f"refund-{order['payment']['payment_id']}-250"
    # AND Stripe's own charge.refunded for it afterwards does not count it twice
    assert stripe_post(anonymous, webhook_secret, refund_event(order, intent, 250)).status_code == 200
    assert wait_until(lambda: shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"].get("refunded_total") == 250)
    assert len(shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["refunds"]) == 1
