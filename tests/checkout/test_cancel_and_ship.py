"""Cancelling and shipping: only along allowed transitions, only by those entitled."""

from __future__ import annotations

from tests.checkout.conftest import checkout, payable, register, stock, wait_until


def test_cancelling_a_pending_order_returns_the_stock(shopper, seller, stocked_product):
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 4}).status_code in (200, 201)
    order = payable(shopper, checkout(shopper))
    # WHEN the buyer cancels before paying
    response = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    # THEN it is CANCELLED and the stock is free again
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "CANCELLED"
    assert wait_until(lambda: stock(seller, sku) == {"on_hand": 10, "reserved": 0, "available": 10}), stock(seller, sku)


def test_cancelling_a_confirmed_order_restocks_and_refunds(shopper, seller, bought):
    order, sku = bought(on_hand=10, quantity=2)
    assert wait_until(lambda: stock(seller, sku)["on_hand"] == 8)
    response = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert response.status_code == 200, response.text
    assert stock(seller, sku) == {"on_hand": 10, "reserved": 0, "available": 10}
    assert shopper.get(f"/api/v1/payments/{order['payment']['payment_id']}").json()["data"]["status"] == "refunded"
    # AND cancelling again is a 409 that changes nothing
    again = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE"
    assert stock(seller, sku)["on_hand"] == 10


def test_shipping_then_cancelling_is_409_and_another_seller_cannot_ship(local_stack, shopper, seller, bought):
    order, sku = bought()
    # GIVEN another seller
    stranger = register(local_stack, "seller")
    ship = {"carrier": "UPS", "tracking_number": "1Z999"}
    # WHEN the other seller tries to ship it: 404, as if it did not exist
    assert stranger.request("PUT", f"/api/v1/seller/orders/{order['order_id']}/ship", json=ship).status_code == 404
    # AND a customer cannot ship at all
    assert shopper.request("PUT", f"/api/v1/seller/orders/{order['order_id']}/ship", json=ship).status_code == 403
    # WHEN the right seller ships
    shipped = seller.request("PUT", f"/api/v1/seller/orders/{order['order_id']}/ship", json=ship)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["data"]["status"] == "SHIPPED"
    # AND the answer is the seller's part only: never the order's total or payment link
    assert not {"total", "payment", "history"} & set(shipped.json()["data"]), shipped.json()["data"]
    assert [item["sku_id"] for item in shipped.json()["data"]["items"]] == [sku]
    # THEN the buyer can no longer cancel
    refused = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "INVALID_STATE"
    assert stock(seller, sku)["on_hand"] == 8
