"""The payment webhook: only genuine, fresh events about known payments act, each exactly once."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from tests.checkout.conftest import checkout, payable, stock, wait_for_order, wait_until


@pytest.fixture
def pending_order(shopper, seller, stocked_product) -> tuple[dict, str]:
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    return payable(shopper, checkout(shopper)), sku


def _event(order: dict, event_type: str = "payment.succeeded", amount: int | None = None) -> str:
    data = {"payment_id": order["payment"]["payment_id"], "amount": order["total"] if amount is None else amount, "currency": "USD"}
    return json.dumps({"type": event_type, "data": data})


def _send(anonymous, payment_id: str, body: str, headers: dict[str, str]):
    """To the sandbox's one fixed webhook URL (the payment is named in the body only)."""
    return anonymous.post("/api/v1/payments/webhooks/sandbox", data=body, headers={**headers, "Content-Type": "application/json"})


def test_bad_signature_stale_timestamp_and_unknown_payment_are_400_and_change_nothing(anonymous, shopper, secret, pending_order):
    from functions.payments.signatures import sign_standard_webhook

    order, _ = pending_order
    payment_id = order["payment"]["payment_id"]
    body = _event(order)
    forged = sign_standard_webhook(body, "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "msg_forged")
    stale = sign_standard_webhook(body, secret, "msg_stale", timestamp=time.time() - 600)
    unknown_body = json.dumps({"type": "payment.succeeded", "data": {"payment_id": "pay_01KAXYZ0000000000000000000", "amount": 1, "currency": "USD"}})
    cases = [
        (payment_id, body, forged),
        (payment_id, body, stale),
        (payment_id, body + " ", sign_standard_webhook(body, secret, "msg_tampered")),  # body changed after signing
        ("pay_01KAXYZ0000000000000000000", unknown_body, sign_standard_webhook(unknown_body, secret, "msg_unknown")),
        (payment_id, _event(order, amount=1), sign_standard_webhook(_event(order, amount=1), secret, "msg_amount")),
    ]
    for target, sent_body, headers in cases:
        response = _send(anonymous, target, sent_body, headers)
        assert response.status_code == 400, (headers["webhook-id"], response.text)
        assert response.json()["error"]["code"] == "INVALID_WEBHOOK"
    # THEN the order still waits and the payment is untouched
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["status"] == "PENDING_PAYMENT"
    assert shopper.get(f"/api/v1/payments/{payment_id}").json()["data"]["status"] == "pending"


def test_the_same_signed_event_five_times_is_handled_once(anonymous, shopper, seller, secret, pending_order):
    from functions.payments.signatures import sign_standard_webhook

    order, sku = pending_order
    body = _event(order)
    headers = sign_standard_webhook(body, secret, "msg_same_event")
    # WHEN the provider delivers one event five times
    answers = [_send(anonymous, order["payment"]["payment_id"], body, headers) for _ in range(5)]
    # THEN every delivery is acknowledged, and the order is confirmed once: one sale of 2 units
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert [a.json()["data"]["outcome"] for a in answers[1:]] == ["duplicate"] * 4
    confirmed = wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    assert [entry["status"] for entry in confirmed["history"]].count("CONFIRMED") == 1
    assert wait_until(lambda: stock(seller, sku)["on_hand"] == 8), stock(seller, sku)
    assert stock(seller, sku) == {"on_hand": 8, "reserved": 0, "available": 8}
    # AND a late payment.failed for the same payment changes nothing
    late = json.dumps({"type": "payment.failed", "data": json.loads(body)["data"]})
    assert _send(anonymous, order["payment"]["payment_id"], late, sign_standard_webhook(late, secret, "msg_late_fail")).status_code == 200
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["status"] == "CONFIRMED"


def test_a_previous_secret_still_verifies_during_rotation(local_stack, anonymous, shopper, secret, pending_order):
    from functions.payments import signatures
    from functions.payments.signatures import sign_standard_webhook
    from ops.rotate_webhook_secret import drop_previous, rotate

    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    arn = local_stack.runtime.environment["PAYMENT_WEBHOOK_SECRET_ARN"]
    order, _ = pending_order
    try:
        rotate(client, arn)
        signatures._cache.clear()  # the handlers' 5-minute cache, as if it had expired
        # WHEN the provider still signs with the old secret
        body = _event(order)
        response = _send(anonymous, order["payment"]["payment_id"], body, sign_standard_webhook(body, secret, "msg_old_secret"))
        # THEN it is accepted
        assert response.status_code == 200, response.text
        wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    finally:
        drop_previous(client, arn)
        client.put_secret_value(SecretId=arn, SecretString=json.dumps({"current": secret, "previous": ""}))
        signatures._cache.clear()
    assert wait_until(lambda: True)
