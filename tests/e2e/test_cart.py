"""The cart over HTTP: guest tokens, user carts, reservations moving with every change."""

from __future__ import annotations

from tests.conftest import Api


def _stock(seller, sku_id: str) -> dict:
    response = seller.get(f"/api/v1/inventory/{sku_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_guest_add_reserves_stock_and_returns_a_token(local_stack, seller, stocked_product):
    # GIVEN a SKU with 10 on hand and a guest without a cart
    sku = stocked_product([10])["skus"][0]["sku_id"]
    guest = Api(local_stack.url)
    # WHEN the guest adds 3
    added = guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3})
    # THEN the cart is created with a token, the line is reserved, and the stock moved
    assert added.status_code == 201, added.text
    token = added.headers["X-Cart-Token"]
    line = added.json()["data"]["items"][0]
    assert line["quantity"] == 3 and line["reserved_until"] and line["price_changed"] is False
    assert _stock(seller, sku) == {"sku_id": sku, "on_hand": 10, "reserved": 3, "available": 7, "buckets": 1}
    # AND the token reads the cart back
    cart = guest.get("/api/v1/cart", headers={"X-Cart-Token": token}).json()["data"]
    assert cart["subtotal"] == 3 * 1500 and cart["currency"] == "USD"


def test_quantity_changes_move_the_hold_by_the_difference(customer, seller, stocked_product):
    sku = stocked_product([10])["skus"][0]["sku_id"]
    customer.request("DELETE", "/api/v1/cart")
    assert customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    # WHEN the quantity goes to 6, then to 1
    up = customer.request("PUT", f"/api/v1/cart/items/{sku}", json={"quantity": 6})
    assert up.status_code == 200, up.text
    assert _stock(seller, sku)["reserved"] == 6
    down = customer.request("PUT", f"/api/v1/cart/items/{sku}", json={"quantity": 1})
    assert down.status_code == 200
    # THEN the reservation follows exactly
    assert _stock(seller, sku) == {"sku_id": sku, "on_hand": 10, "reserved": 1, "available": 9, "buckets": 1}
    # AND an increase beyond the stock is a 409 that changes nothing
    too_many = customer.request("PUT", f"/api/v1/cart/items/{sku}", json={"quantity": 11})
    assert too_many.status_code == 409 and too_many.json()["error"]["details"] == {"sku_id": sku, "requested": 11, "available": 10}
    assert _stock(seller, sku)["reserved"] == 1


def test_out_of_stock_is_409_with_details_and_the_cart_unchanged(customer, seller, stocked_product):
    sku = stocked_product([4])["skus"][0]["sku_id"]
    customer.request("DELETE", "/api/v1/cart")
    assert customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3}).status_code in (200, 201)
    # WHEN asking for 2 more than are left
    response = customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2})
    # THEN 409 OUT_OF_STOCK naming the SKU, the 2 asked for, and the 1 that could still be added
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "OUT_OF_STOCK"
    assert error["details"] == {"sku_id": sku, "requested": 2, "available": 1}
    # AND nothing moved
    assert _stock(seller, sku)["reserved"] == 3
    assert customer.get("/api/v1/cart").json()["data"]["items"][0]["quantity"] == 3


def test_remove_and_clear_release_everything(customer, seller, stocked_product):
    first, second = (s["sku_id"] for s in stocked_product([5, 5])["skus"])
    customer.request("DELETE", "/api/v1/cart")
    customer.post("/api/v1/cart/items", json={"sku_id": first, "quantity": 2})
    customer.post("/api/v1/cart/items", json={"sku_id": second, "quantity": 3})
    removed = customer.request("DELETE", f"/api/v1/cart/items/{first}")
    assert removed.status_code == 200 and [i["sku_id"] for i in removed.json()["data"]["items"]] == [second]
    assert _stock(seller, first)["reserved"] == 0
    cleared = customer.request("DELETE", "/api/v1/cart")
    assert cleared.status_code == 204
    assert _stock(seller, second) == {"sku_id": second, "on_hand": 5, "reserved": 0, "available": 5, "buckets": 1}
    assert customer.get("/api/v1/cart").json()["data"]["items"] == []


def test_bad_quantities_and_unknown_skus_are_rejected(customer, stocked_product):
    sku = stocked_product([5])["skus"][0]["sku_id"]
    for quantity in (0, -1, 51, "2", 1.5):
        response = customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity})
        assert response.status_code == 400, (quantity, response.text)
    unknown = "sku_" + "0" * 30
    assert customer.post("/api/v1/cart/items", json={"sku_id": unknown, "quantity": 1}).status_code == 404
    assert customer.post("/api/v1/cart/items", json={"sku_id": "nope", "quantity": 1}).status_code == 400


def test_another_cart_token_is_404(local_stack):
    guest = Api(local_stack.url)
    forged = "ct_" + "A" * 43
    assert guest.get("/api/v1/cart", headers={"X-Cart-Token": forged}).status_code == 404
    assert guest.get("/api/v1/cart", headers={"X-Cart-Token": "garbage"}).status_code == 404


def test_signing_in_merges_the_guest_cart(local_stack, customer, seller, stocked_product):
    sku = stocked_product([10])["skus"][0]["sku_id"]
    customer.request("DELETE", "/api/v1/cart")
    guest = Api(local_stack.url)
    token = guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).headers["X-Cart-Token"]
    assert customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    # WHEN the signed-in customer sends the guest token
    merged = customer.get("/api/v1/cart", headers={"X-Cart-Token": token})
    # THEN the lines are added up, and the stock is reserved once
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["items"][0]["quantity"] == 3
    assert _stock(seller, sku)["reserved"] == 3
    # AND the guest token is spent
    assert guest.get("/api/v1/cart", headers={"X-Cart-Token": token}).status_code == 404
    customer.request("DELETE", "/api/v1/cart")


def test_a_bad_token_on_the_cart_is_401_not_a_guest(local_stack):
    response = Api(local_stack.url, token="not-a-jwt").get("/api/v1/cart")
    assert response.status_code == 401
