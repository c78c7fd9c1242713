"""Sharded stock for hot SKUs (ADR 0022), over HTTP: a seller marks a SKU hot, shoppers reserve
from its buckets, the sum is what everyone sees, and the last units are never stranded."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.inventory.stock_audit import audit
from tests.support.waiting import eventually


def _stock(seller, sku: str) -> dict:
    response = seller.get(f"/api/v1/inventory/{sku}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_seller_marks_a_sku_hot_and_its_stock_is_spread_over_the_buckets(local_stack, seller, stocked_product):
    # GIVEN a SKU with 20 on hand
    sku = stocked_product([20])["skus"][0]["sku_id"]

    # WHEN its seller gives it 8 buckets
    response = seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 8})

    # THEN the counters (the sum over the buckets) are unchanged and say 8 buckets
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"sku_id": sku, "on_hand": 20, "reserved": 0, "available": 20, "buckets": 8}
    assert _stock(seller, sku) == response.json()["data"]
    # AND the 20 units lie evenly in 8 bucket items, every invariant holding per bucket
    state = audit(local_stack, sku)
    assert sorted(available for _, _, available in state.buckets.values()) == [2, 2, 2, 2, 3, 3, 3, 3]
    assert state.problems() == []

    # WHEN the seller restocks to 100 and then folds the SKU back into one bucket
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": 100}).json()["data"]["available"] == 100
    folded = seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 1})

    # THEN all 100 are in bucket 0 (the others drained, kept at 0), ledger still reconciling
    assert folded.json()["data"] == {"sku_id": sku, "on_hand": 100, "reserved": 0, "available": 100, "buckets": 1}
    state = audit(local_stack, sku)
    assert state.buckets[0] == (100, 0, 100) and all(b == (0, 0, 0) for i, b in state.buckets.items() if i)
    assert state.problems() == []


@pytest.mark.parametrize("body", [{"buckets": 0}, {"buckets": 33}, {}, {"buckets": "8"}])
def test_bad_bucket_counts_are_refused_and_change_nothing(local_stack, seller, stocked_product, body):
    # GIVEN a SKU with 5 on hand
    sku = stocked_product([5])["skus"][0]["sku_id"]

    # WHEN its seller asks for an impossible bucket count (or nothing at all)
    response = seller.request("PUT", f"/api/v1/inventory/{sku}", json=body)

    # THEN 400 with the validation code, and the stock is as it was
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert _stock(seller, sku) == {"sku_id": sku, "on_hand": 5, "reserved": 0, "available": 5, "buckets": 1}


def test_a_customer_cannot_mark_a_sku_hot(local_stack, customer, seller, stocked_product):
    # GIVEN a seller's SKU
    sku = stocked_product([5])["skus"][0]["sku_id"]
    # WHEN a customer tries to give it buckets
    response = customer.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 4})
    # THEN forbidden, and it stays unbucketed
    assert response.status_code == 403, response.text
    assert _stock(seller, sku)["buckets"] == 1


def test_holds_return_to_their_own_bucket_and_pages_show_the_sum(local_stack, seller, anonymous, stocked_product):
    # GIVEN a hot SKU: 16 units over 4 buckets
    product = stocked_product([16])
    sku = product["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 4}).status_code == 200

    # WHEN 6 guests take 2 each
    carts = []
    for _ in range(6):
        response = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2})
        assert response.status_code == 201, response.text
        carts.append(response.headers["X-Cart-Token"])

    # THEN each hold names its bucket and every bucket's reserved is its holds' sum
    state = audit(local_stack, sku)
    assert state.reserved == 12 and state.available == 4 and state.problems() == []
    # AND the product page shows the sum over the buckets, once the availability read model has
    # caught up (it is fed by the stream: trusted within its watermark's lag, ADR 0012)
    shown = eventually(
        lambda: anonymous.get(f"/api/v1/products/{product['product_id']}").json()["data"]["skus"][0]["availability"],
        lambda availability: availability == {"in_stock": True, "available": 4},
        timeout=15,
    )
    assert shown == {"in_stock": True, "available": 4}

    # WHEN every guest empties the cart
    for token in carts:
        assert anonymous.request("DELETE", "/api/v1/cart", headers={"X-Cart-Token": token}).status_code == 204

    # THEN each bucket got back exactly what its holds took: all 16 available, nothing reserved
    state = audit(local_stack, sku)
    assert (state.on_hand, state.reserved, state.available) == (16, 0, 16)
    assert all(reserved == 0 for _, reserved, _ in state.buckets.values())
    assert state.problems() == []


def test_units_split_over_buckets_are_consolidated_for_a_shopper_who_needs_them_all(
    local_stack, seller, anonymous, stocked_product, monkeypatch
):
    # GIVEN a hot SKU whose last 3 units lie one per bucket (no collapse threshold)
    monkeypatch.setenv("BUCKET_COLLAPSE_UNITS_PER_BUCKET", "0")
    sku = stocked_product([3])["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 3}).status_code == 200
    assert sorted(audit(local_stack, sku).buckets.values()) == [(1, 0, 1)] * 3

    # WHEN one shopper asks for all 3
    response = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3})

    # THEN they get them (moved into one bucket first), and a fourth unit is out of stock
    assert response.status_code == 201, response.text
    state = audit(local_stack, sku)
    assert (state.reserved, state.available) == (3, 0) and state.problems() == []
    again = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "OUT_OF_STOCK"
    assert again.json()["error"]["details"]["available"] == 0


def test_the_rebalancer_evens_out_buckets_and_collapses_them_near_sell_out(local_stack, seller, anonymous, stocked_product):
    from functions.inventory.buckets import rebalance_all

    # GIVEN a hot SKU with 40 units over 4 buckets, 10 each
    sku = stocked_product([40])["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 4}).status_code == 200

    # WHEN one guest (one home bucket) takes 9 units one at a time, and the rebalancer runs
    token = None
    for _ in range(9):
        headers = {"X-Cart-Token": token} if token else {}
        response = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}, headers=headers)
        assert response.status_code in (200, 201), response.text
        token = token or response.headers["X-Cart-Token"]
    rebalance_all()

    # THEN the 31 available units are spread evenly again over the 4 buckets
    state = audit(local_stack, sku)
    assert state.available == 31 and state.problems() == []
    assert max(a for _, _, a in state.buckets.values()) - min(a for _, _, a in state.buckets.values()) <= 1

    # WHEN 23 more guests run the stock down to 8 units (2 per bucket: the collapse threshold)
    for _ in range(23):
        response = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1})
        assert response.status_code == 201, response.text
    rebalance_all()

    # THEN every available unit is in bucket 0; the reserved ones stay where their holds are
    state = audit(local_stack, sku)
    assert state.available == 8 and state.buckets[0][2] == 8 and state.problems() == []
    assert _stock(seller, sku)["available"] == 8


@pytest.mark.parametrize(("buckets", "metered"), [(8, True), (5, False)], ids=["8-buckets-metered", "5-buckets"])
def test_64_concurrent_shoppers_on_a_20_unit_bucketed_sku_exactly_20_succeed(
    local_stack, seller, stocked_product, buckets, metered
):
    import contextlib

    from local.capacity import metered as metering

    # GIVEN a hot SKU with 20 units over N buckets (with per-item capacity metered, or not)
    sku = stocked_product([20])["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": buckets}).status_code == 200
    url = f"{local_stack.url}/api/v1/cart/items"
    barrier = threading.Barrier(64)

    def shop(_: int) -> int:
        session = requests.Session()
        barrier.wait()
        return session.post(url, json={"sku_id": sku, "quantity": 1}, timeout=120).status_code

    # WHEN 64 guests each add one unit at the same moment
    with metering(100, transaction_ms=40) if metered else contextlib.nullcontext() as meter:
        with ThreadPoolExecutor(max_workers=64) as pool:
            statuses = list(pool.map(shop, range(64)))
        conflicts = meter.conflicts if meter is not None else 0

    # THEN exactly 20 succeed and 44 are told it is out of stock
    assert statuses.count(201) == 20, statuses
    assert statuses.count(409) == 44, statuses
    # AND every invariant holds per bucket and in total
    final = audit(local_stack, sku)
    assert (final.on_hand, final.available, final.reserved) == (20, 0, 20)
    assert final.problems() == []
    assert len(final.live_holds) == 20 and set(final.live_holds.values()) == {1}
    if metered:  # the race really met DynamoDB's conflicts, and the shoppers never saw them
        assert conflicts > 0


def test_a_stale_listing_of_a_due_hold_does_not_return_stock_to_another_bucket(local_stack, seller, anonymous, stocked_product):
    import time
    from dataclasses import replace

    from functions.inventory import holds

    later = int(time.time()) + 86_400  # every hold is due by then

    # GIVEN a hot SKU over 4 buckets, all of it held by 8 guests (2 units each: every bucket is
    # fully reserved, so any bucket could "give back" 2 units), the holds due by `later`
    sku = stocked_product([16])["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": 4}).status_code == 200
    for _ in range(8):
        added = anonymous.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2})
        assert added.status_code == 201, added.text
    hold = next(h for h in holds.due_holds(now=later, limit=1_000_000) if h.sku_id == sku)
    # WHEN the sweeper acts on a listing of that hold that names another bucket (an index row
    # older than the hold's last write)
    stale = replace(hold, bucket=(hold.bucket + 1) % 4)
    # THEN nothing is released: no bucket gets units it never gave
    assert holds.release_if_expired(stale, now=later) is False
    state = audit(local_stack, sku)
    assert (state.on_hand, state.reserved, state.available) == (16, 16, 0) and state.problems() == []
    # AND the listing as it is releases the hold, to its own bucket
    assert holds.release_if_expired(hold, now=later) is True
    state = audit(local_stack, sku)
    assert (state.on_hand, state.reserved, state.available) == (16, 14, 2) and state.problems() == []
