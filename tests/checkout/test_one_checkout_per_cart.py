"""One cart, one live checkout: an order waiting for its payment holds the cart's stock, and no
second order can reserve it again (docs/decisions/0019-one-checkout-per-cart.md)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.checkout.conftest import ADDRESS, checkout, payable, stock, wait_until


def _add(api, sku: str, quantity: int) -> None:
    response = api.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity})
    assert response.status_code in (200, 201), response.text


def test_a_cart_checked_out_again_and_again_reserves_its_stock_once(shopper, seller, stocked_product):
    # GIVEN a cart of 10 and an order for it waiting for its payment
    sku = stocked_product([40])["skus"][0]["sku_id"]
    _add(shopper, sku, 10)
    first = payable(shopper, checkout(shopper))
    assert first["status"] == "PENDING_PAYMENT"
    # WHEN the same cart is checked out twice more, with new idempotency keys
    again = [checkout(shopper) for _ in range(2)]
    # THEN both are refused with a stable code naming the waiting order
    for response in again:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "CART_ALREADY_CHECKED_OUT", error
        assert error["details"]["pending_order_id"] == first["order_id"], error
    # AND the stock is reserved once: 10, not 30
    assert stock(seller, sku) == {"on_hand": 40, "reserved": 10, "available": 30}
    # AND the first order is still payable
    assert shopper.get(f"/api/v1/orders/{first['order_id']}").json()["data"]["status"] == "PENDING_PAYMENT"


def test_two_concurrent_checkouts_of_one_cart_reserve_at_most_once(shopper, seller, stocked_product):
    # GIVEN a cart of 10
    sku = stocked_product([40])["skus"][0]["sku_id"]
    _add(shopper, sku, 10)
    # WHEN two checkouts with different keys race
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda _: shopper.post(
            "/api/v1/orders", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": uuid.uuid4().hex}), range(2)))
    # THEN exactly one goes through and the other is CART_ALREADY_CHECKED_OUT
    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] in (201, 202) and statuses[1] == 409, [r.text for r in responses]
    refused = next(response for response in responses if response.status_code == 409)
    assert refused.json()["error"]["code"] == "CART_ALREADY_CHECKED_OUT", refused.text
    # AND only one order's worth is reserved
    assert stock(seller, sku) == {"on_hand": 40, "reserved": 10, "available": 30}


def test_once_the_waiting_order_is_cancelled_the_cart_checks_out_again(shopper, seller, stocked_product):
    # GIVEN a checked-out cart whose order the buyer cancels
    sku = stocked_product([40])["skus"][0]["sku_id"]
    _add(shopper, sku, 10)
    first = payable(shopper, checkout(shopper))
    cancelled = shopper.request("PUT", f"/api/v1/orders/{first['order_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert wait_until(lambda: stock(seller, sku)["reserved"] == 0), stock(seller, sku)
    # WHEN the cart (its lines stay: only a paid order empties it) is checked out again
    assert [item["quantity"] for item in shopper.get("/api/v1/cart").json()["data"]["items"]] == [10]
    second = payable(shopper, checkout(shopper))
    # THEN the new order holds the stock, once
    assert second["status"] == "PENDING_PAYMENT" and second["order_id"] != first["order_id"]
    assert stock(seller, sku) == {"on_hand": 40, "reserved": 10, "available": 30}
