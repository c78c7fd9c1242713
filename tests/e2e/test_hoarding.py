"""No hoarding (docs/decisions/0025-hoarding-limits.md): a SKU's `max_per_cart`, new guest carts
per client address per minute (the template's WAF rule, enforced by the local gateway), and a
guest cart's maximum total hold time. Over HTTP against the session's local stack."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tests.checkout.conftest import register
from tests.inventory.stock_audit import audit
from tests.support.addresses import fresh_loopback_address, session_from
from tests.support.waiting import wait_until

ITEMS = "/api/v1/cart/items"


def _product(seller, leaf_category_id: str, on_hand: int, max_per_cart: int | None) -> str:
    sku = {"options": {"size": "M"}, "price": 1200, "currency": "USD"}
    if max_per_cart is not None:
        sku["max_per_cart"] = max_per_cart
    body = {"title": f"Flash Tee {uuid.uuid4().hex[:8]}", "brand": "Testwear", "category_id": leaf_category_id, "skus": [sku]}
    created = seller.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    sku_id = created.json()["data"]["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku_id}", json={"on_hand": on_hand}).status_code == 200
    return sku_id


def _token(api) -> str:
    return api.session.headers["Authorization"].removeprefix("Bearer ")


def test_a_cart_holds_at_most_the_skus_max_per_cart(local_stack, seller, anonymous, leaf_category_id):
    # GIVEN a SKU its seller limited to 2 per cart (and one left at the default)
    sku = _product(seller, leaf_category_id, on_hand=30, max_per_cart=2)
    product = anonymous.get(f"/api/v1/products/prd_{sku[4:30]}").json()["data"]
    assert product["skus"][0]["max_per_cart"] == 2
    # WHEN a guest adds 2, then 1 more
    first = anonymous.post(ITEMS, json={"sku_id": sku, "quantity": 2})
    assert first.status_code == 201, first.text
    headers = {"X-Cart-Token": first.headers["X-Cart-Token"]}
    more = anonymous.post(ITEMS, json={"sku_id": sku, "quantity": 1}, headers=headers)
    # THEN the second is a 409 QUANTITY_LIMIT_EXCEEDED that says the limit, and nothing changed
    assert more.status_code == 409, more.text
    error = more.json()["error"]
    assert (error["code"], error["details"]) == ("QUANTITY_LIMIT_EXCEEDED", {"sku_id": sku, "max_per_cart": 2, "in_cart": 2, "requested": 1})
    assert anonymous.request("PUT", f"{ITEMS}/{sku}", json={"quantity": 3}, headers=headers).json()["error"]["code"] == "QUANTITY_LIMIT_EXCEEDED"
    assert audit(local_stack, sku).reserved == 2
    # AND shrinking the line is fine
    assert anonymous.request("PUT", f"{ITEMS}/{sku}", json={"quantity": 1}, headers=headers).status_code == 200
    # WHEN the seller raises the limit to 3 (the price change form of PUT /products)
    changed = seller.request("PUT", f"/api/v1/products/{product['product_id']}",
                             json={"skus": [{"sku_id": sku, "price": 1200, "currency": "USD", "max_per_cart": 3}]})
    assert changed.status_code == 200, changed.text
    # THEN the line may grow to 3
    assert anonymous.request("PUT", f"{ITEMS}/{sku}", json={"quantity": 3}, headers=headers).status_code == 200
    assert audit(local_stack, sku).problems() == []


def test_a_hoarding_script_holds_at_most_its_share_and_a_customer_still_buys(local_stack, seller, leaf_category_id):
    # GIVEN a flash-sale SKU of 100, at most 2 per cart, and the guest-cart rule the stack's
    # template deploys (read from the running gateway: no number copied here)
    sku = _product(seller, leaf_category_id, on_hand=100, max_per_cart=2)
    [rule] = [rule for rule in local_stack.gateway.web_acl.rules if rule.name == "GuestCartsPerAddress"]
    share = rule.limit * 2  # guest carts per address per minute x max_per_cart
    address = fresh_loopback_address()
    # WHEN a script at one address opens guest carts from 16 threads, each taking the maximum
    attempts = rule.limit + 16

    def hoard(_: int) -> tuple[int, str | None, str]:
        response = session_from(address).post(f"{local_stack.url}{ITEMS}", json={"sku_id": sku, "quantity": 2}, timeout=60)
        return response.status_code, response.headers.get("X-Cart-Token"), response.text

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(hoard, range(attempts)))
    statuses = [status for status, _, _ in answers]
    # THEN exactly `limit` carts were opened; the rest are 429 RATE_LIMITED before any handler ran
    assert statuses.count(201) == rule.limit and statuses.count(429) == attempts - rule.limit, statuses
    refused = next(text for status, _, text in answers if status == 429)
    assert '"code":"RATE_LIMITED"' in refused
    # AND nor can one of its carts take more than max_per_cart
    token = next(token for status, token, _ in answers if status == 201)
    again = session_from(address).post(f"{local_stack.url}{ITEMS}", json={"sku_id": sku, "quantity": 1}, headers={"X-Cart-Token": token})
    assert again.status_code == 409 and again.json()["error"]["code"] == "QUANTITY_LIMIT_EXCEEDED"
    # AND what the script holds is its configured share, no more
    held = audit(local_stack, sku)
    assert held.reserved == share and held.available == 100 - share, held
    # WHEN a real customer at the same address (say, the same office network) buys
    customer = register(local_stack)
    bought = session_from(address, _token(customer)).post(f"{local_stack.url}{ITEMS}", json={"sku_id": sku, "quantity": 2})
    # THEN it goes through: signed-in adds create no guest cart and are not counted
    assert bought.status_code == 200, bought.text
    final = audit(local_stack, sku)
    assert (final.reserved, final.available) == (share + 2, 100 - share - 2)
    assert final.problems() == []


def _reserved_until(cart: dict) -> datetime | None:
    value = cart["items"][0]["reserved_until"]
    return datetime.fromisoformat(value) if value else None


def test_a_guest_hold_is_not_renewed_past_the_maximum_hold_time(local_stack, seller, anonymous, leaf_category_id, monkeypatch):
    # GIVEN guest carts may hold stock for 5 s in total (short for the test; long enough that a
    # renewal 0.5 s later still lands inside it on a loaded 2-core CI machine)
    monkeypatch.setenv("GUEST_MAX_HOLD_SECONDS", "5")
    sku = _product(seller, leaf_category_id, on_hand=10, max_per_cart=None)
    started = time.time()
    first = anonymous.post(ITEMS, json={"sku_id": sku, "quantity": 1})
    assert first.status_code == 201, first.text
    headers = {"X-Cart-Token": first.headers["X-Cart-Token"]}
    until = _reserved_until(first.json()["data"])
    assert until is not None and until.timestamp() <= started + 6  # not the 15-minute TTL
    # WHEN the guest changes the cart again before the window ends (which renews holds)
    time.sleep(0.5)
    renewed = anonymous.post(ITEMS, json={"sku_id": sku, "quantity": 1}, headers=headers)
    # THEN the hold grew but its expiry did not move
    assert renewed.status_code == 200, renewed.text
    assert _reserved_until(renewed.json()["data"]) == until
    # WHEN the window is over and the guest tries to reserve more
    time.sleep(max(0.0, until.timestamp() - time.time()) + 1.1)
    late = anonymous.post(ITEMS, json={"sku_id": sku, "quantity": 1}, headers=headers)
    # THEN 409 HOLD_TIME_EXCEEDED, and the line shows no reservation
    assert late.status_code == 409 and late.json()["error"]["code"] == "HOLD_TIME_EXCEEDED", late.text
    assert _reserved_until(anonymous.get("/api/v1/cart", headers=headers).json()["data"]) is None
    # WHEN the shopper signs in with the guest cart's token
    customer = register(local_stack)
    merged = customer.get("/api/v1/cart", headers=headers)
    # THEN the lines move into the customer's cart and are reserved again, for the normal TTL
    assert merged.status_code == 200, merged.text
    cart = merged.json()["data"]
    assert cart["items"][0]["quantity"] == 2
    reserved = _reserved_until(cart)
    assert reserved is not None and reserved.timestamp() > time.time() + 60
    # AND the lapsed guest hold is released exactly once (by the sweeper, or by TTL's stream
    # record if DynamoDB deleted it first: asynchronous, hence the wait)
    assert wait_until(lambda: audit(local_stack, sku).problems() == [], timeout=10), audit(local_stack, sku)
    assert audit(local_stack, sku).reserved == 2
