"""Fault: the cache server becomes unreachable (it keeps its data: a partition or a failover, the
case where stale values are still there when it comes back). Pages and the cart answer from
DynamoDB meanwhile, and once it is back the availability cache converges on the table.

(tests/e2e/test_availability_cache.py and test_product_cache.py cover a cache that comes back
EMPTY, the breaker's timing and the one-BatchGetItem page; this covers a cache that comes back
with its old values, and the cart.)"""

from __future__ import annotations

import time
from collections import Counter

import boto3
import redis

from functions.inventory.availability import sku_key
from functions.inventory.heartbeat import beat
from local.call_counter import count_dynamodb_calls
from ops import replay_failures
from shared import cache as shared_cache
from tests.checkout.conftest import register
from tests.faults.conftest import availability_problems, queue_depth, queue_url, stock_problems, wait_until


def _page(anonymous, product_id: str) -> dict:
    response = anonymous.get(f"/api/v1/products/{product_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _shown(anonymous, product_id: str) -> tuple[list[int], list[int]]:
    """(available per SKU, price per SKU) on the product page."""
    skus = _page(anonymous, product_id)["skus"]
    return [sku["availability"]["available"] for sku in skus], [sku["price"] for sku in skus]


def _from_cache(anonymous, product: dict, expected: tuple[list[int], list[int]]) -> bool:
    """The page shows `expected` and made no DynamoDB call for it (product and availability hit)."""
    beat()  # a fresh watermark: the projector has caught up with everything before this
    with count_dynamodb_calls(mentioning=product["product_id"].removeprefix("prd_")) as calls:
        shown = _shown(anonymous, product["product_id"])
    return shown == expected and calls == Counter()


def _settled_depth(stack, url: str, quiet: float = 3.0, timeout: float = 30.0) -> int:
    """The queue's depth once it has not changed for `quiet` seconds (a stream batch's retries
    and bisected halves are over)."""
    deadline = time.monotonic() + timeout
    depth, since = queue_depth(stack, url), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        now = queue_depth(stack, url)
        if now != depth:
            depth, since = now, time.monotonic()
    return depth


def test_cache_down_pages_and_cart_answer_from_dynamodb_and_availability_converges_after(
    local_stack, seller, anonymous, stocked_product, cache_link
):
    product = stocked_product([5, 3])
    pid, skus = product["product_id"], [sku["sku_id"] for sku in product["skus"]]
    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    shopper = register(local_stack)
    # GIVEN a product page served from the cache (availability 5 and 3)
    assert wait_until(lambda: _from_cache(anonymous, product, ([5, 3], [1500, 1500])), timeout=10)
    cached_before = [cache.get(sku_key(sku)) for sku in skus]
    assert None not in cached_before and availability_problems(local_stack, skus) == []
    # WHEN the cache becomes unreachable, and meanwhile the seller restocks one SKU to 9 and a
    # shopper puts 2 of the other in the cart
    cache_link.down()
    assert seller.request("PUT", f"/api/v1/inventory/{skus[0]}", json={"on_hand": 9}).status_code == 200
    added = shopper.post("/api/v1/cart/items", json={"sku_id": skus[1], "quantity": 2})
    # THEN the cart works, and every page is right, from DynamoDB, although the cache server still
    # holds the old values
    assert added.status_code in (200, 201), added.text
    lines = shopper.get("/api/v1/cart").json()["data"]["items"]
    assert [(line["sku_id"], line["quantity"], line["reserved_until"] is not None) for line in lines] == [(skus[1], 2, True)]
    for _ in range(3):
        assert _shown(anonymous, pid) == ([9, 1], [1500, 1500])
    assert shared_cache.breaker_open()
    assert [cache.get(sku_key(sku)) for sku in skus] == cached_before
    assert len(availability_problems(local_stack, skus)) == 2
    # WHEN the cache is reachable again (and the breaker's pause is over)
    cache_link.up()
    shared_cache.reset_breaker()
    # THEN the projector's retries catch up: the cache agrees with the table (no stale
    # availability), and pages are cache hits again with the right numbers
    assert wait_until(lambda: availability_problems(local_stack, skus) == [], timeout=10)
    assert None not in [cache.get(sku_key(sku)) for sku in skus]
    assert wait_until(lambda: _from_cache(anonymous, product, ([9, 1], [1500, 1500])), timeout=10)
    assert stock_problems(local_stack, skus) == []


def test_cache_down_past_the_invalidators_retries_a_price_change_is_not_served_stale_after(
    local_stack, seller, anonymous, stocked_product, cache_link
):
    product = stocked_product([4])
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    dlq = queue_url(local_stack, "CatalogCacheInvalidatorFailureQueue")
    parked = queue_depth(local_stack, dlq)
    # GIVEN the product page cached at price 1500
    assert wait_until(lambda: _from_cache(anonymous, product, ([4], [1500])), timeout=10)
    # WHEN the cache is unreachable while the price changes to 1100, long enough for the
    # invalidation to fail past its retries and be parked on the invalidator's on-failure queue
    cache_link.down()
    changed = seller.request("PUT", f"/api/v1/products/{pid}", json={"skus": [{"sku_id": sku, "price": 1100, "currency": "USD"}]})
    assert changed.status_code == 200, changed.text
    # (bisected halves of the batch park one by one: wait until the last has landed, so none
    # arrives after the replay below)
    assert wait_until(lambda: queue_depth(local_stack, dlq) > parked, timeout=10)
    waiting = _settled_depth(local_stack, dlq)
    assert _shown(anonymous, pid) == ([4], [1100])  # from the table meanwhile
    # WHEN the cache is back (and the breaker's pause is over), and the operator re-drives the
    # parked batch as the queue's description says (ops.replay_failures)
    cache_link.up()
    shared_cache.reset_breaker()
    sqs = boto3.client("sqs", endpoint_url=local_stack.moto.endpoint)
    dynamodb_streams = boto3.client("dynamodbstreams", endpoint_url=local_stack.moto.endpoint)
    report = replay_failures.replay(dlq, sqs=sqs, streams=dynamodb_streams, wait_seconds=0, log=lambda _: None)
    # THEN every parked batch (this one, and any an earlier test left) went through the cache
    # invalidator (the message names it), the queue is empty, and the page shows the new price
    assert (report.messages, report.deleted, report.kept) == (waiting, waiting, 0) and report.records_redriven >= 1, report
    assert _shown(anonymous, pid) == ([4], [1100])
    assert queue_depth(local_stack, dlq) == 0
