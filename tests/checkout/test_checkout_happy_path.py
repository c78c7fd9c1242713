"""The happy path over HTTP: sign in, add to cart, POST /orders, pay in the sandbox."""

from __future__ import annotations

from tests.checkout.conftest import checkout, pay, payable, stock, wait_for_order, wait_until


def test_a_paid_checkout_confirms_sells_stock_empties_the_cart_and_notifies(local_stack, shopper, seller, stocked_product):
    # GIVEN a signed-in shopper with 2 units of a 10-unit SKU in the cart
    product = stocked_product([10], price=2499)
    sku = product["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    # WHEN they check out
    created = checkout(shopper)
    # THEN the order waits for payment, with a payment page and the cart's lines at their prices
    assert created.status_code == 201, created.text
    order = created.json()["data"]
    assert created.headers["Location"] == f"/api/v1/orders/{order['order_id']}"
    assert order["status"] == "PENDING_PAYMENT"
    assert order["total"] == 2 * 2499 and order["currency"] == "USD"
    assert [(item["sku_id"], item["quantity"], item["unit_price"]) for item in order["items"]] == [(sku, 2, 2499)]
    assert order["payment"]["payment_url"].startswith(local_stack.url + "/api/v1/sandbox/payments/pay_")
    # AND the stock is held for the order (still reserved, not sold)
    assert stock(seller, sku) == {"on_hand": 10, "reserved": 2, "available": 8}

    # WHEN the shopper pays on the sandbox page
    sent = pay(order["payment"]["payment_url"])
    assert sent["delivered"] is True and sent["webhook_status"] == 200
    # THEN the order is CONFIRMED, with its history in order
    confirmed = wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    assert [entry["status"] for entry in confirmed["history"]] == ["PROCESSING", "PENDING_PAYMENT", "CONFIRMED"]
    assert confirmed["payment"]["status"] == "succeeded"
    # AND on_hand dropped by the quantity (sold), nothing stays reserved
    assert wait_until(lambda: stock(seller, sku) == {"on_hand": 8, "reserved": 0, "available": 8}), stock(seller, sku)
    # AND the cart is empty
    assert wait_until(lambda: shopper.get("/api/v1/cart").json()["data"]["items"] == [])
    # AND the buyer's confirmation and the seller's new-order notice are in the outbox
    from functions.notifications.outbox import read_outbox

    def notices():
        return {item["kind"] for item in read_outbox(order["order_id"])}

    kinds = wait_until(lambda: notices() if len(notices()) >= 2 else None, timeout=30)
    assert kinds and len(kinds) >= 2, read_outbox(order["order_id"])
    # AND the payment reads as captured, for its owner only
    payment = shopper.get(f"/api/v1/payments/{order['payment']['payment_id']}").json()["data"]
    assert payment["status"] == "succeeded" and payment["amount"] == 2 * 2499 and payment["order_id"] == order["order_id"]
    assert seller.get(f"/api/v1/payments/{order['payment']['payment_id']}").status_code == 404


def test_the_order_is_listed_for_the_buyer_and_for_the_seller_with_only_their_lines(shopper, seller, bought):
    # GIVEN a confirmed order
    order, sku = bought()
    # WHEN the buyer lists their orders and the seller theirs
    mine = shopper.get("/api/v1/orders").json()["data"]["items"]
    sellers = seller.get("/api/v1/seller/orders?limit=100").json()["data"]["items"]
    # THEN both see it
    assert [o["order_id"] for o in mine] == [order["order_id"]]
    part = next(o for o in sellers if o["order_id"] == order["order_id"])
    assert part["status"] == "CONFIRMED" and [item["sku_id"] for item in part["items"]] == [sku]
    # AND another shopper cannot see it (404, as if it did not exist)
    assert seller.get(f"/api/v1/orders/{order['order_id']}").status_code == 404


def test_a_confirmed_buyer_may_review_what_they_bought(shopper, bought):
    # GIVEN a confirmed order of a product
    order, _ = bought()
    product_id = order["items"][0]["product_id"]
    # WHEN the buyer reviews it
    response = shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 5, "title": "Great", "body": "Fits well."})
    # THEN the review is accepted (the purchase check reads the orders service)
    assert response.status_code == 201, response.text


def test_clearing_the_cart_takes_out_only_what_was_bought_and_only_once(shopper, seller, stocked_product):
    # GIVEN a paid order of 2 units, and the shopper adding 1 more of the same SKU meanwhile
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    order = payable(shopper, checkout(shopper))
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code == 200
    pay(order["payment"]["payment_url"])
    wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    # WHEN the saga's ClearCart runs (and, as a retry would, runs again)
    from functions.cart import carts

    def cart_quantity() -> int | None:
        lines = shopper.get("/api/v1/cart").json()["data"]["items"]
        return lines[0]["quantity"] if lines else None

    assert wait_until(lambda: cart_quantity() == 1), cart_quantity()
    ref = carts.CartRef(shopper.get("/api/v1/cart").json()["data"]["cart_id"], f"user:{shopper.user_id}")
    carts.remove_ordered(ref, order["order_id"], {sku: 2})
    # THEN the line keeps the unit added since, still reserved for the cart
    line = shopper.get("/api/v1/cart").json()["data"]["items"][0]
    assert line["quantity"] == 1 and line["reserved_until"]
    assert stock(seller, sku) == {"on_hand": 8, "reserved": 1, "available": 7}
