"""The product page's availability: projected from the inventory stream into the cache, read with
zero DynamoDB calls on a hit, and from ONE BatchGetItem when the cache cannot vouch for it.

DynamoDB calls are counted in-process (moto runs in this process); only calls that mention the
test's product (its ULID is in the product key and in every SKU id) count, so the local stack's
background workers do not blur the numbers.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest
import redis

from functions.inventory.availability import WATERMARK_KEY, sku_key
from functions.inventory.heartbeat import beat
from functions.inventory.stock import set_initial_stock
from local.call_counter import count_dynamodb_calls


def _wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def _settle(local_stack, timeout: float = 10.0) -> None:
    """Let every stream consumer catch up (the catalog indexer reads the new SKUs' stock, which
    mentions the product too), so counted calls are the page's own."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2 and time.monotonic() < deadline:
        quiet = quiet + 1 if local_stack.poller.poll_once() == 0 else 0
        time.sleep(0.1)


class Product:
    """A product of the demo seller with `len(stock)` SKUs; None = the SKU gets no stock item."""

    def __init__(self, local_stack, seller, anonymous, stock: list[int | None]) -> None:
        tree = anonymous.get("/api/v1/categories").json()["data"]
        clothing = next(node for node in tree if node["name"] == "Clothing")
        category = next(child for child in clothing["children"] if child["name"] == "T-Shirts")["category_id"]
        body = {"title": f"Availability Tee {uuid.uuid4().hex[:6]}", "brand": "Northwind", "category_id": category,
                "skus": [{"options": {"size": f"S{i}"}, "price": 1500, "currency": "USD"} for i in range(len(stock))]}
        created = seller.post("/api/v1/products", json=body)
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        self.anonymous = anonymous
        self.id = data["product_id"]
        self.ulid = self.id.removeprefix("prd_")  # in the product's key and in every SKU id
        self.skus = [sku["sku_id"] for sku in data["skus"]]
        for sku, on_hand in zip(self.skus, stock, strict=True):
            if on_hand is not None:
                assert set_initial_stock(sku, on_hand, self.id, data["seller"]["id"])
        _settle(local_stack)

    def page(self) -> dict[str, Any]:
        response = self.anonymous.get(f"/api/v1/products/{self.id}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def available(self) -> list[int]:
        return [sku["availability"]["available"] for sku in self.page()["skus"]]

    def calls_per_page(self) -> tuple[list[int], Counter]:
        """(availability shown, DynamoDB calls that one page made)."""
        with count_dynamodb_calls(mentioning=self.ulid) as calls:
            shown = self.available()
        return shown, calls


def _set_on_hand(seller, sku_id: str, on_hand: int) -> None:
    response = seller.request("PUT", f"/api/v1/inventory/{sku_id}", json={"on_hand": on_hand})
    assert response.status_code == 200, response.text


def _served_from_cache(product: Product, expected: list[int]) -> bool:
    shown, calls = product.calls_per_page()
    return shown == expected and calls == Counter()


@pytest.fixture
def cache(local_stack) -> redis.Redis:
    return redis.Redis.from_url(local_stack.cache.url, decode_responses=True)


def test_a_stock_change_reaches_the_product_page_within_seconds(local_stack, seller, anonymous, cache):
    # GIVEN a product whose two SKUs have 5 and 2 in stock, shown from the cache
    product = Product(local_stack, seller, anonymous, [5, 2])
    _wait_for(lambda: _served_from_cache(product, [5, 2]))
    # WHEN the seller sets the first SKU's stock to 9
    _set_on_hand(seller, product.skus[0], 9)
    started = time.monotonic()
    # THEN the page shows 9 within a few seconds, and serves it from the cache (newer version cached)
    _wait_for(lambda: product.available() == [9, 2], timeout=5)
    assert time.monotonic() - started < 5
    assert cache.get(sku_key(product.skus[0])) == "2|9"
    _wait_for(lambda: _served_from_cache(product, [9, 2]))


def test_a_hit_makes_zero_dynamodb_calls(local_stack, seller, anonymous):
    # GIVEN a product with 4 stocked SKUs, projected, and its page read once (fills the product cache)
    product = Product(local_stack, seller, anonymous, [3, 0, 7, 1])
    _wait_for(lambda: _served_from_cache(product, [3, 0, 7, 1]))
    beat()  # the watermark is fresh without waiting for the sweeper
    # WHEN shoppers read the page ten times
    with count_dynamodb_calls(mentioning=product.ulid) as calls:
        pages = [product.page() for _ in range(10)]
    # THEN no page reached DynamoDB (product cache AND availability cache hit), and all were right
    assert calls == Counter()
    for page in pages:
        assert [(s["availability"]["available"], s["availability"]["in_stock"]) for s in page["skus"]] == [
            (3, True), (0, False), (7, True), (1, True)]


def test_a_missing_key_is_a_miss_not_zero_and_a_sku_never_stocked_shows_zero(local_stack, seller, anonymous, cache):
    # GIVEN a product with one stocked SKU (6) and one that never had a stock item, both projected
    product = Product(local_stack, seller, anonymous, [6, None])
    _wait_for(lambda: _served_from_cache(product, [6, 0]))
    # WHEN the stocked SKU's key vanishes from the cache (evicted, or a cache that lost its data)
    cache.delete(sku_key(product.skus[0]))
    # THEN the page still shows 6, read in ONE BatchGetItem (never "0 available" from a miss)
    shown, calls = product.calls_per_page()
    assert shown == [6, 0] and calls == Counter({"BatchGetItem": 1})
    # AND that read put the key back (with its version), so the next page is a hit again
    assert cache.get(sku_key(product.skus[0])) == "1|6"
    assert _served_from_cache(product, [6, 0])
    # WHEN the never-stocked SKU gets stock THEN its first stream record beats the "no item" marker
    _set_on_hand(seller, product.skus[1], 4)
    _wait_for(lambda: _served_from_cache(product, [6, 4]), timeout=5)


def test_a_stale_watermark_reads_the_table_and_the_cache_is_trusted_again_when_the_projector_resumes(
    local_stack, seller, anonymous, cache
):
    # GIVEN a product (4 and 8 in stock) served from the cache
    product = Product(local_stack, seller, anonymous, [4, 8])
    _wait_for(lambda: _served_from_cache(product, [4, 8]))
    try:
        # WHEN the projector stalls (the stream poller pauses), stock changes meanwhile, and the
        # watermark grows older than the 30 s limit
        local_stack.poller.stop()
        _set_on_hand(seller, product.skus[1], 2)
        cache.set(WATERMARK_KEY, int((time.time() - 60) * 1000))
        # THEN pages are degraded but right: the new value, from one BatchGetItem, although the
        # cache still holds the old one
        assert cache.get(sku_key(product.skus[1])) == "1|8"
        for _ in range(3):
            shown, calls = product.calls_per_page()
            assert shown == [4, 2] and calls == Counter({"BatchGetItem": 1})
    finally:
        local_stack.poller.start()
    # WHEN the projector catches up (the stock change, then a heartbeat) THEN pages are hits again
    beat()
    _wait_for(lambda: _served_from_cache(product, [4, 2]), timeout=5)
    assert cache.get(sku_key(product.skus[1])) == "2|2"


def _restart_cache(local_stack) -> None:
    """Start the local stack's cache server again on its port (a new, empty redis-server)."""
    from local.services import start_cache

    old = local_stack.cache
    port = int(old.url.rsplit(":", 1)[1].split("/")[0])
    new = start_cache(port)
    assert new.url == old.url
    local_stack.cache = new
    stoppers = local_stack._stoppers
    stoppers[stoppers.index(old.stop) if old.stop in stoppers else len(stoppers)] = new.stop  # stopped with the stack


def test_cache_outage_serves_right_pages_from_one_batch_get_and_recovers(local_stack, seller, anonymous, cache):
    from shared import cache as shared_cache

    # GIVEN a product (2, 5, 0 in stock) served from the cache
    product = Product(local_stack, seller, anonymous, [2, 5, 0])
    _wait_for(lambda: _served_from_cache(product, [2, 5, 0]))
    try:
        # WHEN the cache server goes down, and stock changes during the outage
        local_stack.cache.stop()
        _set_on_hand(seller, product.skus[2], 3)
        # THEN every page is still right: the product from its GetItem, availability from ONE
        # BatchGetItem (never one call per SKU), and the breaker keeps the pages fast
        started = time.perf_counter()
        for _ in range(5):
            shown, calls = product.calls_per_page()
            assert shown == [2, 5, 3]
            assert calls == Counter({"GetItem": 1, "BatchGetItem": 1})
        assert shared_cache.breaker_open()
        assert time.perf_counter() - started < 3
    finally:
        # WHEN the cache comes back (empty: redis-server restarted)
        _restart_cache(local_stack)
    # THEN once the breaker closes (5 s) and the projector's heartbeat lands, pages are hits again
    # (the first reads repair the SKU keys; the product cache refills)
    beat()
    _wait_for(lambda: _served_from_cache(product, [2, 5, 3]), timeout=15, interval=0.5)
    assert shared_cache.breaker_open() is False
