"""The admission gate in front of add-to-cart (functions/inventory/gate.py, docs/decisions/0024):
it sheds a sold-out SKU without a DynamoDB call, and when it is out of date, wrong, or its cache
is down, the answers are still the table's: never an oversell, never a refused unit in stock."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from functions.inventory.availability import sku_key
from functions.inventory.heartbeat import beat
from local.call_counter import count_dynamodb_calls
from shared import cache as shared_cache
from tests.faults.conftest import availability_problems, stock_problems, wait_until

ITEMS = "/api/v1/cart/items"


def _cache(local_stack) -> redis.Redis:
    return redis.Redis.from_url(local_stack.cache.url, decode_responses=True)


def _add(local_stack, sku: str, quantity: int = 1) -> requests.Response:
    return requests.post(f"{local_stack.url}{ITEMS}", json={"sku_id": sku, "quantity": quantity}, timeout=60)


def _rush(local_stack, sku: str, shoppers: int) -> list[int]:
    """`shoppers` guests add one unit each, all at once."""
    barrier = threading.Barrier(shoppers)

    def shop(_: int) -> int:
        session = requests.Session()
        barrier.wait()
        return session.post(f"{local_stack.url}{ITEMS}", json={"sku_id": sku, "quantity": 1}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=shoppers) as pool:
        return list(pool.map(shop, range(shoppers)))


def _sold_out_in_cache(local_stack, sku: str) -> bool:
    beat()  # the watermark moves past the sell-out's stream record
    value = _cache(local_stack).get(sku_key(sku))
    return value is not None and value.endswith("|0")


def test_a_sold_out_sku_is_shed_by_the_gate_before_dynamodb(local_stack, stocked_product, monkeypatch):
    # GIVEN a SKU whose last unit a shopper took, and the stream has told the cache (available 0);
    # the gate lets one probe per SKU through every 30 s (long, so this test controls it)
    monkeypatch.setenv("GATE_PROBE_SECONDS", "30")
    product = stocked_product([1])
    sku, ulid = product["skus"][0]["sku_id"], product["product_id"].removeprefix("prd_")
    assert _add(local_stack, sku).status_code == 201
    assert wait_until(lambda: _sold_out_in_cache(local_stack, sku), timeout=10)
    # WHEN the first shopper after the sell-out asks: the probe, answered by DynamoDB
    with count_dynamodb_calls(mentioning=ulid) as probe_calls:
        probe = _add(local_stack, sku)
    assert probe.status_code == 409 and probe.json()["error"]["code"] == "OUT_OF_STOCK"
    assert probe_calls["TransactWriteItems"] >= 1, probe_calls
    # WHEN more shoppers ask within the probe window
    with count_dynamodb_calls(mentioning=ulid) as calls:
        shed = [_add(local_stack, sku, quantity) for quantity in (1, 3, 1)]
    # THEN each is 409 OUT_OF_STOCK with the usual details, and none reached DynamoDB at all
    assert [(r.status_code, r.json()["error"]["code"]) for r in shed] == [(409, "OUT_OF_STOCK")] * 3
    assert shed[1].json()["error"]["details"] == {"sku_id": sku, "requested": 3, "available": 0}
    assert calls == Counter()
    assert stock_problems(local_stack, [sku]) == []


def test_an_out_of_date_gate_never_refuses_stock_and_never_oversells(local_stack, stocked_product, seller, streams, monkeypatch):
    # GIVEN a sold-out SKU, the cache saying so, and then the stream stops reaching the cache
    # (the poller is paused) while the seller restocks 5: the cache still says 0, out of date
    monkeypatch.setenv("AVAILABILITY_STALE_SECONDS", "0.5")  # how old the watermark may be
    product = stocked_product([1])
    sku = product["skus"][0]["sku_id"]
    streams.drain()
    assert _add(local_stack, sku).status_code == 201
    streams.drain()
    beat()
    streams.drain()
    assert _cache(local_stack).get(sku_key(sku)).endswith("|0")
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": 6}).status_code == 200
    assert wait_until(lambda: availability_problems(local_stack, [sku]) != [], timeout=1)  # the cache is behind
    # WHEN 16 shoppers rush the restocked SKU once the watermark is older than allowed
    assert wait_until(lambda: _rush(local_stack, sku, 1) == [201], timeout=5)  # the gate stops trusting the cache
    statuses = _rush(local_stack, sku, 16)
    # THEN DynamoDB decided each: exactly the 4 units left were sold, the rest told out of stock
    assert sorted(statuses) == [201] * 4 + [409] * 12, statuses
    assert stock_problems(local_stack, [sku]) == []
    # AND once the stream flows again the cache agrees with the table
    streams.drain()
    assert availability_problems(local_stack, [sku]) == []


def test_a_wrong_sold_out_key_is_probed_and_rebuilt_from_the_table(local_stack, stocked_product):
    # GIVEN a SKU with 3 in stock whose cache key drifted to "sold out" at a version the table
    # never had (so no stream record would ever replace it), behind a fresh watermark
    product = stocked_product([3])
    sku = product["skus"][0]["sku_id"]
    cache = _cache(local_stack)
    assert wait_until(lambda: (cache.get(sku_key(sku)) or "").endswith("|3"), timeout=10)
    cache.set(sku_key(sku), "999999|0")
    beat()
    # WHEN shoppers add one unit each, one after the other
    first = _add(local_stack, sku)
    # THEN the first is the gate's probe: DynamoDB reserves it, and the key is rebuilt from the table
    assert first.status_code == 201, first.text
    assert wait_until(lambda: availability_problems(local_stack, [sku]) == [] and cache.get(sku_key(sku)) is not None, timeout=5)
    # AND the next ones are answered right: 2 more units, then out of stock
    assert [_add(local_stack, sku).status_code for _ in range(3)] == [201, 201, 409]
    assert stock_problems(local_stack, [sku]) == []


def test_with_the_cache_down_every_add_goes_to_dynamodb(local_stack, stocked_product, cache_link):
    # GIVEN a sold-out SKU and one with 3 left, both known to the cache
    product = stocked_product([1, 3])
    sold_out, scarce = (sku["sku_id"] for sku in product["skus"])
    ulid = product["product_id"].removeprefix("prd_")
    assert _add(local_stack, sold_out).status_code == 201
    assert wait_until(lambda: _sold_out_in_cache(local_stack, sold_out), timeout=10)
    # WHEN the cache becomes unreachable
    cache_link.down()
    with count_dynamodb_calls(mentioning=ulid) as calls:
        refused = _add(local_stack, sold_out)
    statuses = _rush(local_stack, scarce, 8)
    # THEN the sold-out SKU is still a 409, now from DynamoDB, and the scarce one sells exactly 3
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "OUT_OF_STOCK"
    assert calls["TransactWriteItems"] >= 1
    assert sorted(statuses) == [201] * 3 + [409] * 5, statuses
    assert shared_cache.breaker_open()
    assert stock_problems(local_stack, [sold_out, scarce]) == []
