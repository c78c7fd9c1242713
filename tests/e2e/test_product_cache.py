"""The product page's cache: hits, invalidation by the catalog stream, and degraded mode."""

from __future__ import annotations

import os
import time
import uuid

import redis


def _wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def _tee(anonymous) -> dict:
    tree = anonymous.get("/api/v1/categories").json()["data"]
    clothing = next(node for node in tree if node["name"] == "Clothing")
    category = next(child for child in clothing["children"] if child["name"] == "T-Shirts")["category_id"]
    return {"title": f"Cache Tee {uuid.uuid4().hex[:6]}", "brand": "Northwind", "category_id": category,
            "skus": [{"options": {"size": "M"}, "price": 1000, "currency": "USD"}]}


def test_second_read_is_a_cache_hit_and_a_price_change_shows_on_the_next_read(local_stack, seller, anonymous):
    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    product = seller.post("/api/v1/products", json=_tee(anonymous)).json()["data"]
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    # GIVEN a first read that fills the cache
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["skus"][0]["price"] == 1000
    assert cache.exists(f"product:{{{pid}}}")
    # WHEN the price changes
    seller.request("PUT", f"/api/v1/products/{pid}", json={"skus": [{"sku_id": sku, "price": 800, "currency": "USD"}]})
    # THEN the catalog stream invalidates the cached page, and the next reads show the new price
    _wait_for(lambda: anonymous.get(f"/api/v1/products/{pid}").json()["data"]["skus"][0]["price"] == 800)
    assert int(cache.get(f"product:{{{pid}}}:version")) == product["version"] + 1


def test_the_streams_record_of_the_cached_version_keeps_the_copy_and_a_newer_one_drops_it(local_stack, seller, anonymous):
    from functions.catalog.product_cache import invalidate

    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    product = seller.post("/api/v1/products", json=_tee(anonymous)).json()["data"]
    pid, version = product["product_id"], product["version"]
    # GIVEN a new product's page cached at its version, and the stream's record of the creation seen
    anonymous.get(f"/api/v1/products/{pid}")
    _wait_for(lambda: cache.get(f"product:{{{pid}}}:version") == str(version))
    anonymous.get(f"/api/v1/products/{pid}")
    assert cache.exists(f"product:{{{pid}}}")
    # WHEN the same record is delivered again (or arrives late)  THEN the current copy stays
    invalidate(pid, version)
    assert cache.exists(f"product:{{{pid}}}")
    # WHEN a newer version is recorded  THEN the copy is dropped and the version raised
    invalidate(pid, version + 1)
    assert not cache.exists(f"product:{{{pid}}}")
    assert cache.get(f"product:{{{pid}}}:version") == str(version + 1)


def test_a_stale_copy_written_after_the_invalidation_is_never_served(local_stack, seller, anonymous):
    import json

    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    product = seller.post("/api/v1/products", json=_tee(anonymous)).json()["data"]
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    seller.request("PUT", f"/api/v1/products/{pid}", json={"skus": [{"sku_id": sku, "price": 700, "currency": "USD"}]})
    _wait_for(lambda: cache.get(f"product:{{{pid}}}:version") == str(product["version"] + 1))
    # GIVEN a slow reader that puts the OLD version back after the invalidation
    cache.set(f"product:{{{pid}}}", json.dumps({"version": product["version"], "view": {**product, "title": "STALE"}}), ex=300)
    # THEN readers see it as a miss and get the current product
    page = anonymous.get(f"/api/v1/products/{pid}").json()["data"]
    assert page["title"] != "STALE" and page["skus"][0]["price"] == 700


def test_cache_down_serves_from_the_table_and_recovers(local_stack, seller, anonymous):
    from shared import cache as shared_cache

    product = seller.post("/api/v1/products", json=_tee(anonymous)).json()["data"]
    pid = product["product_id"]
    real_url = os.environ["CACHE_URL"]
    try:
        # GIVEN the cache is unreachable
        os.environ["CACHE_URL"] = "redis://127.0.0.1:9/0"
        shared_cache._client.cache_clear()
        started = time.perf_counter()
        pages = [anonymous.get(f"/api/v1/products/{pid}") for _ in range(5)]
        # THEN pages are still right (degraded mode), and the breaker keeps them fast
        assert all(p.status_code == 200 and p.json()["data"]["product_id"] == pid for p in pages)
        assert shared_cache.breaker_open()
        assert time.perf_counter() - started < 3
    finally:
        os.environ["CACHE_URL"] = real_url
        shared_cache._client.cache_clear()
    # WHEN the cache is back and the breaker's pause has passed  THEN it is used again
    shared_cache.reset_breaker()
    anonymous.get(f"/api/v1/products/{pid}")
    assert redis.Redis.from_url(real_url).exists(f"product:{{{pid}}}")


def test_the_writers_next_read_never_gets_the_cached_old_page_even_before_the_stream_runs(local_stack, seller, anonymous):
    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    product = seller.post("/api/v1/products", json=_tee(anonymous)).json()["data"]
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    # GIVEN the page cached at price 1000, and the catalog stream held back (so only the write
    # handlers themselves can invalidate)
    _wait_for(lambda: anonymous.get(f"/api/v1/products/{pid}").json()["data"]["version"] == product["version"])
    assert cache.exists(f"product:{{{pid}}}")
    local_stack.poller.stop()
    try:
        # WHEN the seller changes the price  THEN the very next read shows it
        changed = seller.request("PUT", f"/api/v1/products/{pid}", json={"skus": [{"sku_id": sku, "price": 900, "currency": "USD"}]})
        assert changed.status_code == 200, changed.text
        assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["skus"][0]["price"] == 900
        # WHEN the seller deletes it  THEN the very next read is a 404, and it stays one
        assert seller.request("DELETE", f"/api/v1/products/{pid}").status_code == 204
        assert [anonymous.get(f"/api/v1/products/{pid}").status_code for _ in range(3)] == [404] * 3
        assert int(cache.get(f"product:{{{pid}}}:version")) == product["version"] + 2
    finally:
        local_stack.poller.start()
