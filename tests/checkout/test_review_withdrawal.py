"""Fake reviews: pay, review, cancel for a full refund. The review of an order that no longer
stands leaves the listing and the product's rating, exactly once (driven by the orders stream's
removal of the purchase claim: functions/reviews/consumers/withdraw_reviews.py)."""

from __future__ import annotations

from tests.checkout.conftest import checkout, pay, payable, wait_for_order, wait_until


def _reviews(api, product_id: str) -> list[dict]:
    return api.get(f"/api/v1/products/{product_id}/reviews").json()["data"]["items"]


def _rating(api, product_id: str) -> dict:
    return api.get(f"/api/v1/products/{product_id}").json()["data"]["rating"]


def _withdrawal_record(user_id: str, product_id: str, order_id: str) -> dict:
    return {
        "eventID": "replayed", "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/replayed",
        "dynamodb": {"Keys": {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"PURCHASE#{product_id}#{order_id}"}},
                     "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def test_a_review_of_a_cancelled_order_is_hidden_and_its_rating_taken_out_once(local_stack, shopper, anonymous, bought):
    # GIVEN a paid order and the buyer's 5-star review of it
    order, _ = bought()
    product_id = order["items"][0]["product_id"]
    created = shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 5, "title": "Superb", "body": "Five stars."})
    assert created.status_code == 201, created.text
    assert wait_until(lambda: _rating(anonymous, product_id)["count"] == 1), _rating(anonymous, product_id)
    # WHEN the buyer cancels the order for a full refund
    assert shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel").status_code == 200
    # THEN the review is no longer listed and the rating is back to none
    assert wait_until(lambda: _reviews(anonymous, product_id) == [], timeout=30), _reviews(anonymous, product_id)
    assert wait_until(lambda: _rating(anonymous, product_id) == {"average": None, "count": 0}), _rating(anonymous, product_id)
    # AND the stream record delivered again changes nothing (no double subtraction)
    consumer = next(name for name, spec in local_stack.runtime.functions.items()
                    if spec.handler == "functions.reviews.consumers.withdraw_reviews.handler")
    record = _withdrawal_record(shopper.user_id, product_id, order["order_id"])
    for _ in range(2):
        assert local_stack.runtime.invoke(consumer, {"Records": [record]}) == {"batchItemFailures": []}
    assert _rating(anonymous, product_id) == {"average": None, "count": 0}
    # AND the buyer cannot review again on the strength of the cancelled order
    again = shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 5, "title": "Again", "body": ""})
    assert again.status_code in (403, 409), again.text


def test_a_buyer_with_another_paid_order_keeps_the_review(local_stack, shopper, anonymous, bought):
    # GIVEN two paid orders of one product and a 4-star review
    first, sku = bought(on_hand=10, quantity=1)
    product_id = first["items"][0]["product_id"]
    assert wait_until(lambda: shopper.get("/api/v1/cart").json()["data"]["items"] == [])  # the saga's last step
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    second = payable(shopper, checkout(shopper))
    pay(second["payment"]["payment_url"])
    wait_for_order(shopper, second["order_id"], ("CONFIRMED",))
    assert shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 4, "title": "Good"}).status_code == 201
    # WHEN one of the orders is cancelled (the review's own, or the other: either way one stands)
    assert shopper.request("PUT", f"/api/v1/orders/{first['order_id']}/cancel").status_code == 200
    # (its purchase's removal handled now, as the stream does; whichever comes first, the other is a no-op)
    consumer = next(name for name, spec in local_stack.runtime.functions.items()
                    if spec.handler == "functions.reviews.consumers.withdraw_reviews.handler")
    record = _withdrawal_record(shopper.user_id, product_id, first["order_id"])
    assert local_stack.runtime.invoke(consumer, {"Records": [record]}) == {"batchItemFailures": []}
    # THEN the review stays, and so does its rating
    assert [review["rating"] for review in _reviews(anonymous, product_id)] == [4]
    assert _rating(anonymous, product_id) == {"average": 4.0, "count": 1}
    # WHEN the other order is cancelled too
    assert shopper.request("PUT", f"/api/v1/orders/{second['order_id']}/cancel").status_code == 200
    # THEN the review goes
    assert wait_until(lambda: _reviews(anonymous, product_id) == [], timeout=30), _reviews(anonymous, product_id)
    assert wait_until(lambda: _rating(anonymous, product_id)["count"] == 0), _rating(anonymous, product_id)
