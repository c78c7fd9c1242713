"""POST /orders with an Idempotency-Key: one order and one execution per key, whatever happens."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from tests.checkout.conftest import ADDRESS, checkout


def _executions(local_stack) -> list[dict]:
    sfn = boto3.client("stepfunctions", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-Checkout"))
    return sfn.list_executions(stateMachineArn=machine["stateMachineArn"], maxResults=1000)["executions"]


def test_ten_concurrent_requests_with_one_key_make_one_order_and_one_execution(local_stack, shopper, stocked_product):
    # GIVEN a cart with one line
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    key = uuid.uuid4().hex
    # WHEN the same checkout is sent 10 times at once
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: checkout(shopper, key), range(10)))
    # THEN every answer is the order or "still in progress", and all name ONE order
    assert {r.status_code for r in responses} <= {201, 202, 409}, [r.text for r in responses]
    in_progress = [r for r in responses if r.status_code == 409]
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS" for r in in_progress)
    order_ids = {r.json()["data"]["order_id"] for r in responses if r.status_code in (201, 202)}
    assert len(order_ids) == 1
    # AND the shopper has exactly one order, run by exactly one execution
    assert [o["order_id"] for o in shopper.get("/api/v1/orders").json()["data"]["items"]] == list(order_ids)
    from functions.orders.checkout import execution_name

    (order_id,) = order_ids
    names = [e["name"] for e in _executions(local_stack)]
    assert names.count(execution_name(shopper.user_id, key, order_id)) == 1
    # AND a retry afterwards replays the first answer
    replay = checkout(shopper, key)
    first = next(r for r in responses if r.status_code in (201, 202))
    assert replay.status_code == first.status_code and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422_and_a_missing_key_400(shopper, stocked_product):
    sku = stocked_product([10])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    key = uuid.uuid4().hex
    assert checkout(shopper, key).status_code in (201, 202)
    # WHEN the key comes back with another address
    other = checkout(shopper, key, {**ADDRESS, "city": "Shelbyville"})
    # THEN 422 and no second order
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # AND without a key: 400 naming the header
    missing = shopper.post("/api/v1/orders", json={"shipping_address": ADDRESS})
    assert missing.status_code == 400 and missing.json()["error"]["details"]["fields"][0]["field"] == "header.Idempotency-Key"
    assert len(shopper.get("/api/v1/orders").json()["data"]["items"]) == 1


def test_bad_bodies_are_400_and_create_nothing(shopper):
    for body in ({}, {"shipping_address": {**ADDRESS, "country": "usa"}}, {"shipping_address": ADDRESS, "extra": 1}):
        response = shopper.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 400, response.text
    assert shopper.get("/api/v1/orders").json()["data"]["items"] == []


def test_an_empty_cart_fails_the_checkout_with_cart_empty(shopper):
    response = checkout(shopper)
    assert response.status_code == 409 and response.json()["error"]["code"] == "CART_EMPTY"
    order_id = response.json()["error"]["details"]["order_id"]
    order = shopper.get(f"/api/v1/orders/{order_id}").json()["data"]
    assert order["status"] == "FAILED" and order["reason"] == "CART_EMPTY"


def test_a_changed_price_fails_with_the_new_prices_and_the_next_checkout_uses_them(shopper, seller, stocked_product):
    # GIVEN a line added at 1500, then repriced to 1800 by the seller
    product = stocked_product([10], price=1500)
    sku = product["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    repriced = seller.request("PUT", f"/api/v1/products/{product['product_id']}", json={"skus": [{"sku_id": sku, "price": 1800, "currency": "USD"}]})
    assert repriced.status_code == 200, repriced.text
    # WHEN checking out
    refused = checkout(shopper)
    # THEN 409 PRICE_CHANGED with the new price
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "PRICE_CHANGED"
    assert error["details"]["items"] == [{"sku_id": sku, "old_price": 1500, "new_price": 1800, "currency": "USD"}]
    # AND checking out again (a new key) goes through at the new price
    again = checkout(shopper)
    assert again.status_code == 201, again.text
    assert again.json()["data"]["total"] == 1800
