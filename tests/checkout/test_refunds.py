"""Refunds and the order, the one fixed webhook URL, de-duplication per payment, and links from
configuration (issue 12), over HTTP on the session's local stack (a sandbox stage).

Each test here fails on the code before issue 12: there was no fixed webhook URL, a refund event
left the order CONFIRMED on the seller's list, the order kept a stale copy of the payment status,
de-duplication was global on the webhook id, and links followed the request's Host header.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.checkout.conftest import checkout, pay, payable, register, wait_for_order, wait_until

FIXED_URL = "/api/v1/payments/webhooks/sandbox"


@pytest.fixture
def pending(shopper, stocked_product):
    """pending(quantity, api) -> a new order awaiting payment, of the shopper or of `api` (one
    cart has one unpaid order at a time: a second order needs another shopper, ADR 0019)."""

    def make(quantity: int = 1, api=None) -> dict:
        buyer = api or shopper
        sku = stocked_product([10])["skus"][0]["sku_id"]
        assert buyer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity}).status_code in (200, 201)
        return payable(buyer, checkout(buyer))

    return make


def send(anonymous, secret: str, event_type: str, order: dict, amount: int | None = None, message_id: str | None = None):
    """A sandbox (Standard Webhooks) event about the order's payment, to the one fixed URL."""
    from functions.payments.signatures import sign_standard_webhook

    body = json.dumps({"type": event_type, "data": {
        "payment_id": order["payment"]["payment_id"], "amount": order["total"] if amount is None else amount, "currency": "USD",
    }})
    headers = sign_standard_webhook(body, secret, message_id or f"msg_{uuid.uuid4().hex}")
    return anonymous.post(FIXED_URL, data=body, headers={**headers, "Content-Type": "application/json"})


def seller_order_ids(seller) -> set[str]:
    listed = seller.get("/api/v1/seller/orders", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return {item["order_id"] for item in listed.json()["data"]["items"]}


# -- one fixed webhook URL ------------------------------------------------------------------------


def test_one_fixed_webhook_url_takes_the_events_of_every_payment(local_stack, anonymous, shopper, secret, pending):
    # GIVEN two orders awaiting payment (two shoppers)
    other = register(local_stack)
    first, second = pending(), pending(api=other)
    # WHEN the provider posts each payment's event to the same registered URL
    answers = [send(anonymous, secret, "payment.succeeded", order) for order in (first, second)]
    # THEN both are accepted and both orders are confirmed: the payment is found from the event
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    for buyer, order in ((shopper, first), (other, second)):
        wait_for_order(buyer, order["order_id"], ("CONFIRMED",))
    # AND the old per-payment URL is gone (one webhook route, README "Payments")
    old = anonymous.post(f"/api/v1/payments/{first['payment']['payment_id']}/webhook", data="{}",
                         headers={"Content-Type": "application/json"})
    assert old.status_code in (403, 404), old.text


def test_another_providers_webhook_url_is_not_there_in_a_sandbox_stage(anonymous, shopper, secret, pending):
    order = pending()
    response = anonymous.post("/api/v1/payments/webhooks/stripe", data="{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["status"] == "PENDING_PAYMENT"


def test_a_webhook_id_reused_by_another_payment_is_not_dropped_as_a_duplicate(local_stack, anonymous, shopper, secret, pending):
    # GIVEN two payments whose events arrive under the same webhook id (ids are unique per sender
    # and payment at some providers, not globally)
    other = register(local_stack)
    first, second = pending(), pending(api=other)
    shared_id = f"msg_{uuid.uuid4().hex}"
    # WHEN both arrive
    answers = [send(anonymous, secret, "payment.succeeded", order, message_id=shared_id) for order in (first, second)]
    # THEN each is handled for its own payment, not the second dropped as a duplicate of the first
    assert [answer.json()["data"]["outcome"] for answer in answers] == ["succeeded", "succeeded"], [a.text for a in answers]
    for buyer, order in ((shopper, first), (other, second)):
        wait_for_order(buyer, order["order_id"], ("CONFIRMED",))
    # AND the same event for the same payment again is still a duplicate
    again = send(anonymous, secret, "payment.succeeded", first, message_id=shared_id)
    assert again.status_code == 200 and again.json()["data"]["outcome"] == "duplicate"


# -- provider refunds and the order ---------------------------------------------------------------


def test_a_full_provider_refund_makes_the_order_refunded_off_the_sellers_list_and_no_purchase(
    anonymous, shopper, seller, secret, bought
):
    # GIVEN a paid order, on the seller's list, whose buyer may review the product
    order, _ = bought(on_hand=10, quantity=2)
    assert order["order_id"] in seller_order_ids(seller)
    # WHEN the provider reports the whole payment refunded (e.g. from its dashboard)
    answer = send(anonymous, secret, "payment.refunded", order)
    assert answer.status_code == 200, answer.text
    # THEN the order is REFUNDED, with the refund recorded, and shows the payment as refunded
    refunded = wait_for_order(shopper, order["order_id"], ("REFUNDED",))
    assert refunded["refunded_total"] == order["total"]
    assert refunded["payment"]["status"] == "refunded" and refunded["payment"]["payment_url"] is None
    assert refunded["history"][-1]["status"] == "REFUNDED"
    # AND the seller no longer sees it to ship, and cannot ship it
    assert order["order_id"] not in seller_order_ids(seller)
    ship = seller.request("PUT", f"/api/v1/seller/orders/{order['order_id']}/ship", json={"carrier": "UPS", "tracking_number": "1Z1"})
    assert ship.status_code == 409, ship.text
    # AND it is no purchase any more: the buyer cannot review the product
    product_id = order["items"][0]["product_id"]
    review = shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 5, "title": "Free", "body": "Refunded."})
    assert review.status_code == 403, review.text


def test_a_partial_provider_refund_is_recorded_with_its_amount_and_only_ever_grows(anonymous, shopper, seller, secret, bought):
    order, _ = bought(on_hand=10, quantity=2)
    total = order["total"]
    # WHEN the provider reports part of the payment refunded (its cumulative refunded amount)
    first = send(anonymous, secret, "payment.refunded", order, amount=500)
    assert first.status_code == 200 and first.json()["data"]["outcome"] == "partially_refunded", first.text
    # THEN the order stays CONFIRMED (the seller still ships the rest), with the amount recorded
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["status"] == "CONFIRMED" and current["refunded_total"] == 500
    assert [(entry["amount"], entry["refunded_total"]) for entry in current["refunds"]] == [(500, 500)]
    assert current["payment"]["status"] == "succeeded" and current["payment"]["refunded_total"] == 500
    assert order["order_id"] in seller_order_ids(seller)
    # WHEN an older report (a smaller total) arrives late: nothing goes backwards
    late = send(anonymous, secret, "payment.refunded", order, amount=200)
    assert late.status_code == 200, late.text
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["refunded_total"] == 500
    # AND more than was paid is refused and changes nothing
    too_much = send(anonymous, secret, "payment.refunded", order, amount=total + 1)
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "INVALID_WEBHOOK"
    # WHEN the rest is refunded: the order is REFUNDED
    assert send(anonymous, secret, "payment.refunded", order, amount=total).status_code == 200
    refunded = wait_for_order(shopper, order["order_id"], ("REFUNDED",))
    assert refunded["refunded_total"] == total and [entry["amount"] for entry in refunded["refunds"]] == [500, total - 500]


def test_a_cancelled_order_shows_its_payment_as_the_payment_is_not_a_stale_pending_link(shopper, pending):
    # GIVEN an order awaiting payment, with a payment link
    order = pending()
    assert order["payment"]["status"] == "pending" and order["payment"]["payment_url"]
    # WHEN the buyer cancels it
    cancelled = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    # THEN neither the answer nor a later read shows a pending payment or a link to pay
    for view in (cancelled.json()["data"], shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]):
        assert view["payment"]["status"] == "canceled" and view["payment"]["payment_url"] is None, view["payment"]
    listed = next(item for item in shopper.get("/api/v1/orders").json()["data"]["items"] if item["order_id"] == order["order_id"])
    assert listed["payment"]["status"] == "canceled" and listed["payment"]["payment_url"] is None


# -- links come from configuration ----------------------------------------------------------------


def test_links_and_the_sandbox_webhook_ignore_the_requests_host_and_forwarded_proto(local_stack, shopper, pending):
    spoofed = {"Host": "evil.example", "X-Forwarded-Proto": "gopher"}
    # GIVEN an order, read with spoofed Host / X-Forwarded-Proto headers
    order = pending()
    view = shopper.get(f"/api/v1/orders/{order['order_id']}", headers=spoofed).json()["data"]
    # THEN its payment link is on this stage's configured URL
    assert view["payment"]["payment_url"] == f"{local_stack.url}/api/v1/sandbox/payments/{order['payment']['payment_id']}"
    assert shopper.get(f"/api/v1/payments/{order['payment']['payment_id']}", headers=spoofed).json()["data"]["payment_url"] == \
        view["payment"]["payment_url"]
    # WHEN someone pays through the sandbox with a spoofed Host
    response = shopper.post(f"/api/v1/sandbox/payments/{order['payment']['payment_id']}", json={"outcome": "succeeded"}, headers=spoofed)
    # THEN the signed webhook still went to this stage (not to the caller's host), and confirmed the order
    assert response.status_code == 200 and response.json()["data"]["delivered"] is True, response.text
    wait_for_order(shopper, order["order_id"], ("CONFIRMED",))


# -- refunds through the API ----------------------------------------------------------------------


def refund(api, order_id: str, body: dict, key: str | None = None):
    return api.post(f"/api/v1/orders/{order_id}/refunds", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def test_an_admin_refunds_part_of_an_order_once_per_idempotency_key(admin, shopper, bought):
    order, _ = bought(on_hand=10, quantity=2)
    key = uuid.uuid4().hex
    # WHEN an admin refunds part of it, and the client retries with the same key
    first = refund(admin, order["order_id"], {"amount": 300, "reason": "Late delivery"}, key)
    again = refund(admin, order["order_id"], {"amount": 300, "reason": "Late delivery"}, key)
    # THEN one refund of 300 is recorded, and the retry is the first answer again
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true" and again.text == first.text
    data = first.json()["data"]
    assert data["refund"]["amount"] == 300 and data["refund"]["reason"] == "Late delivery" and data["refund"]["refund_ref"]
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["status"] == "CONFIRMED" and current["refunded_total"] == 300 and len(current["refunds"]) == 1
    # AND the same key with another body is refused
    reused = refund(admin, order["order_id"], {"amount": 301, "reason": "Late delivery"}, key)
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # WHEN the admin refunds the rest (no amount: all that is left)
    rest = refund(admin, order["order_id"], {"reason": "Order lost"})
    assert rest.status_code == 201, rest.text
    assert rest.json()["data"]["refund"]["amount"] == order["total"] - 300
    # THEN the order is REFUNDED and the payment with it; nothing more can be refunded
    refunded = wait_for_order(shopper, order["order_id"], ("REFUNDED",))
    assert refunded["payment"]["status"] == "refunded" and refunded["refunded_total"] == order["total"]
    more = refund(admin, order["order_id"], {"amount": 1, "reason": "More"})
    assert more.status_code == 409 and more.json()["error"]["code"] == "INVALID_STATE"


def test_a_seller_refunds_only_their_own_lines_and_only_their_orders(local_stack, shopper, seller, bought):
    order, _ = bought(on_hand=10, quantity=2)
    # A stranger seller: as if the order did not exist; a customer: not allowed at all
    stranger = register(local_stack, "seller")
    assert refund(stranger, order["order_id"], {"amount": 1, "reason": "x"}).status_code == 404
    assert refund(shopper, order["order_id"], {"amount": 1, "reason": "x"}).status_code == 403
    # More than their lines are worth: 409 with what may be refunded, nothing changes
    too_much = refund(seller, order["order_id"], {"amount": order["total"] + 1, "reason": "x"})
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "REFUND_EXCEEDS_REFUNDABLE"
    assert too_much.json()["error"]["details"]["refundable"] == order["total"]
    # Bad input: 400, nothing changes
    assert refund(seller, order["order_id"], {"amount": 0, "reason": "x"}).status_code == 400
    no_key = seller.post(f"/api/v1/orders/{order['order_id']}/refunds", json={"reason": "x"})
    assert no_key.status_code == 400, no_key.text
    assert "refunded_total" not in shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    # WHEN the seller refunds their lines (all of this order): it is REFUNDED; the answer shows their lines only
    done = refund(seller, order["order_id"], {"reason": "Out of stock after all"})
    assert done.status_code == 201, done.text
    assert set(done.json()["data"]["order"]) == {"order_id", "status", "refunded_total", "items"}
    wait_for_order(shopper, order["order_id"], ("REFUNDED",))
    assert wait_until(lambda: order["order_id"] not in seller_order_ids(seller))


def test_a_pending_order_cannot_be_refunded(admin, shopper, pending):
    order = pending()
    response = refund(admin, order["order_id"], {"reason": "x"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVALID_STATE"
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["status"] == "PENDING_PAYMENT"


def test_paying_then_refunding_in_the_sandbox_page_flow(shopper, pending):
    """The sandbox's own flow still works end to end through the fixed URL."""
    order = pending()
    paid = pay(order["payment"]["payment_url"])
    assert paid["delivered"] is True and paid["webhook_status"] == 200
    wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
