"""The flows that read a GSI, with the local stack's indexes lagging as DynamoDB's may (ADR 0032).

Each list read from an index either is right at once or converges within the lag; every decision
about money or stock reads the table and is right at once. The lag here is 1.5 s."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from local.gsi_lag import lagged
from tests.checkout.conftest import checkout, pay, payable, stock, wait_for_order, wait_until
from tests.conftest import Api
from tests.inventory.stock_audit import audit

LAG = 1.5


@pytest.fixture(autouse=True)
def gsi_lag() -> Iterator[None]:
    with lagged(LAG, eventual_reads=True):
        yield


def _my_orders(api: Api) -> dict[str, str]:
    listed = api.get("/api/v1/orders", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return {item["order_id"]: item["status"] for item in listed.json()["data"]["items"]}


def _seller_listing(seller: Api) -> dict[str, dict]:
    listed = seller.get("/api/v1/seller/orders", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return {item["order_id"]: item for item in listed.json()["data"]["items"]}


def _seller_orders(seller: Api) -> dict[str, str]:
    return {order_id: item["status"] for order_id, item in _seller_listing(seller).items()}


def _converges(read, expected, timeout: float = LAG + 3) -> list:
    """Poll `read` until it equals `expected`; returns every answer seen on the way."""
    seen = [read()]
    deadline = time.monotonic() + timeout
    while seen[-1] != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        seen.append(read())
    assert seen[-1] == expected, seen
    return seen


def test_checkout_my_orders_and_the_sellers_list_converge_and_never_show_a_left_state(shopper, seller, stocked_product):
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    # WHEN the shopper checks out and pays
    order = payable(shopper, checkout(shopper))
    order_id = order["order_id"]
    pay(order["payment"]["payment_url"])
    # THEN the order itself (a table read) is CONFIRMED and the stock sold, exactly
    wait_for_order(shopper, order_id, ("CONFIRMED",))
    assert wait_until(lambda: stock(seller, sku) == {"on_hand": 8, "reserved": 0, "available": 8}), stock(seller, sku)
    # AND "my orders" lists it within the lag, and never with a status it has left
    seen = _converges(lambda: _my_orders(shopper).get(order_id), "CONFIRMED")
    assert set(seen) <= {None, "CONFIRMED"}, seen
    # AND the seller's list too
    seen = _converges(lambda: _seller_orders(seller).get(order_id), "CONFIRMED")
    assert set(seen) <= {None, "CONFIRMED"}, seen
    # WHEN the seller ships it (found by a table read, not the list)
    shipped = seller.request("PUT", f"/api/v1/seller/orders/{order_id}/ship", json={"carrier": "UPS", "tracking_number": "1Z9"})
    assert shipped.status_code == 200, shipped.text
    # THEN both lists show SHIPPED at once: the status comes from the header, read consistently
    assert _seller_orders(seller)[order_id] == "SHIPPED"
    assert _my_orders(shopper)[order_id] == "SHIPPED"
    # AND the seller's list shows the shipment at once too (the header's copy, not the index's part)
    shipment = _seller_listing(seller)[order_id]["shipment"]
    assert shipment and shipment["tracking_number"] == "1Z9" and shipment["carrier"] == "UPS", shipment
    # WHEN it arrives  THEN the seller's list shows when, at once
    delivered = seller.request("PUT", f"/api/v1/seller/orders/{order_id}/deliver")
    assert delivered.status_code == 200, delivered.text
    assert _seller_listing(seller)[order_id]["shipment"].get("delivered_at"), _seller_listing(seller)[order_id]
    # AND the buyer cannot cancel a shipped order, however stale the index is
    refused = shopper.request("PUT", f"/api/v1/orders/{order_id}/cancel")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "INVALID_STATE"
    assert stock(seller, sku)["on_hand"] == 8


def test_cancelling_a_fresh_confirmed_order_refunds_and_restocks_once_at_once(shopper, seller, bought):
    # GIVEN a confirmed order younger than the lag in the index
    order, sku = bought(on_hand=10, quantity=2)
    # WHEN the buyer cancels it straight away
    response = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    # THEN it is cancelled, restocked and refunded at once (table reads and conditional writes)
    assert response.status_code == 200, response.text
    assert stock(seller, sku) == {"on_hand": 10, "reserved": 0, "available": 10}
    assert shopper.get(f"/api/v1/payments/{order['payment']['payment_id']}").json()["data"]["status"] == "refunded"
    # AND the lists show it CANCELLED (or not yet listed), never CONFIRMED
    seen = _converges(lambda: _my_orders(shopper).get(order["order_id"]), "CANCELLED")
    assert set(seen) <= {None, "CANCELLED"}, seen
    again = shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert again.status_code == 409
    assert stock(seller, sku)["on_hand"] == 10


def test_a_review_is_listed_at_once_after_posting(shopper, bought):
    order, _ = bought(on_hand=5, quantity=1)
    product_id = order["items"][0]["product_id"]
    # WHEN the buyer reviews the product right after buying it (the purchase check reads the table)
    posted = shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 4, "title": "Fine", "body": "Lagged."})
    assert posted.status_code == 201, posted.text
    # THEN the product's reviews (a base-table query) list it at once
    listed = shopper.get(f"/api/v1/products/{product_id}/reviews")
    assert listed.status_code == 200, listed.text
    assert [review["title"] for review in listed.json()["data"]["items"]][:1] == ["Fine"]


def test_a_new_product_is_readable_at_once_and_listed_within_the_lag(seller, anonymous, leaf_category_id):
    body = {"title": f"Lag Tee {uuid.uuid4().hex[:8]}", "description": "Lagged listing.", "brand": "Testwear",
            "category_id": leaf_category_id, "attributes": {}, "images": [],
            "skus": [{"options": {"size": "M"}, "price": 1200, "currency": "USD"}]}
    created = seller.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id = created.json()["data"]["product_id"]
    # THEN its page (a table read) is there at once
    assert anonymous.get(f"/api/v1/products/{product_id}").status_code == 200

    def listed() -> bool:
        page = anonymous.get("/api/v1/products", params={"category": leaf_category_id, "limit": 20})
        assert page.status_code == 200, page.text
        return product_id in {item["product_id"] for item in page.json()["data"]["items"]}

    # AND the category listing (the index) has it within the lag
    _converges(listed, True)


def test_an_abandoned_hold_expires_once_with_the_expiry_index_lagging(local_stack, stocked_product, monkeypatch):
    # GIVEN holds that last 2 seconds
    monkeypatch.setenv("RESERVATION_TTL_SECONDS", "2")
    sku = stocked_product([3])["skus"][0]["sku_id"]
    guest = Api(local_stack.url)
    added = guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3})
    assert added.status_code == 201, added.text
    assert audit(local_stack, sku).available == 0
    # THEN the stock comes back (the sweeper's index read lags; its release is conditional), once
    assert wait_until(lambda: audit(local_stack, sku).available == 3, timeout=15)
    final = audit(local_stack, sku)
    assert final.problems() == [] and final.live_holds == {} and len(final.hold_ends) == 1


def test_a_hold_renewed_while_the_expiry_index_still_lists_it_due_is_not_released(local_stack, stocked_product, monkeypatch):
    from functions.inventory import holds

    lag = 4.0  # longer than this module's: the renewal and the sweep must fall inside it, even on a busy machine
    with lagged(lag, eventual_reads=True):
        # GIVEN a guest's hold of 1 unit for 10 seconds, old enough for the expiry index to list it
        monkeypatch.setenv("RESERVATION_TTL_SECONDS", "10")
        sku = stocked_product([5])["skus"][0]["sku_id"]
        guest = Api(local_stack.url)
        added = guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1})
        assert added.status_code == 201, added.text
        token = {"X-Cart-Token": added.headers["X-Cart-Token"]}
        first_expiry = int(time.time()) + 10
        time.sleep(lag + 0.3)
        # WHEN the guest changes the cart (the hold is renewed: 2 units, a later expiry) and a sweep
        # runs at once, at a time the old hold would be due: the lagging index still lists it so
        renewed = guest.request("PUT", f"/api/v1/cart/items/{sku}", json={"quantity": 2}, headers=token)
        assert renewed.status_code == 200, renewed.text
        sweep_at = first_expiry + 1
        stale = [hold for hold in holds.due_holds(now=sweep_at, limit=1_000_000) if hold.sku_id == sku]
        assert [hold.quantity for hold in stale] == [1], stale  # the index's old row
        # THEN acting on that listing releases nothing: the renewed hold and its 2 units stay
        assert holds.release_if_expired(stale[0], now=sweep_at) is False
        state = audit(local_stack, sku)
        assert (state.reserved, state.available) == (2, 3) and state.problems() == [], state
        assert guest.get("/api/v1/cart", headers=token).json()["data"]["items"][0]["quantity"] == 2


@pytest.fixture
def base_table_reads(monkeypatch) -> list[dict]:
    """What moto's DynamoDB is asked to read from a base table (GetItem, Query without an index),
    as the request said it: with eventual reads lagged a stale read shows only when it races a
    write, so the requests' own ConsistentRead is checked as well."""
    from moto.dynamodb.responses import DynamoHandler

    seen: list[dict] = []
    for action in ("get_item", "query"):
        original = getattr(DynamoHandler, action)

        def record(self, _original=original, _action=action):
            if not self.body.get("IndexName"):
                seen.append({"action": _action, "table": self.body.get("TableName"), "key": self.body.get("Key"),
                             "values": self.body.get("ExpressionAttributeValues"), "consistent": bool(self.body.get("ConsistentRead"))})
            return _original(self)

        monkeypatch.setattr(DynamoHandler, action, record)
    return seen


def test_catalog_reads_that_decide_or_read_back_a_write_are_consistent(admin, seller, anonymous, base_table_reads):
    # GIVEN a category the admin has just created
    parent = next(node for node in admin.get("/api/v1/categories").json()["data"] if node["name"] == "Clothing")
    category = admin.post("/api/v1/categories", json={"name": f"Lag {uuid.uuid4().hex[:8]}", "parent_id": parent["category_id"]})
    assert category.status_code == 201, category.text
    category_id = category.json()["data"]["category_id"]
    base_table_reads.clear()
    # WHEN a seller lists a product in it at once, edits the product twice in a row and reads its page
    body = {"title": "Quick Tee", "description": "Edited twice.", "brand": "Testwear", "category_id": category_id,
            "attributes": {}, "images": [], "skus": [{"options": {"size": "M"}, "price": 1200, "currency": "USD"}]}
    created = seller.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    product_id = created.json()["data"]["product_id"]
    for title in ("Quick Tee 2", "Quick Tee 3"):
        edited = seller.request("PUT", f"/api/v1/products/{product_id}", json={"title": title})
        assert edited.status_code == 200, edited.text
    page = anonymous.get(f"/api/v1/products/{product_id}")
    # THEN the page shows the last edit
    assert page.status_code == 200 and page.json()["data"]["title"] == "Quick Tee 3", page.text
    # AND every read of the category list (is it a known category?) and of the product item (the
    # edits' version conditions, the page's cache miss) asked DynamoDB for a consistent read
    categories = [r for r in base_table_reads if r["action"] == "query" and {"S": "CATEGORY"} in (r["values"] or {}).values()]
    product = [r for r in base_table_reads if r["action"] == "get_item" and (r["key"] or {}).get("pk") == {"S": f"PRODUCT#{product_id}"}]
    assert categories and len(product) >= 2, base_table_reads
    assert all(r["consistent"] for r in categories + product), [(r["action"], r["key"], r["consistent"]) for r in categories + product]
