"""Holds expire on time and are released exactly once, whichever path sees them first."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Api
from tests.inventory.stock_audit import audit, expire_holds_now


def _wait_for(predicate, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"not true within {timeout} s")


def test_an_abandoned_cart_gives_its_stock_back_within_15_seconds(local_stack, stocked_product, monkeypatch):
    # GIVEN holds that last 5 seconds
    monkeypatch.setenv("RESERVATION_TTL_SECONDS", "5")
    sku = stocked_product([3])["skus"][0]["sku_id"]
    guest = Api(local_stack.url)
    # WHEN a guest reserves everything and walks away
    added = guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3})
    assert added.status_code == 201, added.text
    assert audit(local_stack, sku).available == 0
    # THEN the stock is available again within 15 s, released once
    waited = _wait_for(lambda: audit(local_stack, sku).available == 3, timeout=15)
    final = audit(local_stack, sku)
    assert final.problems() == [] and final.live_holds == {} and len(final.hold_ends) == 1
    assert waited < 15
    # AND the cart still lists the line, no longer reserved
    line = guest.get("/api/v1/cart", headers={"X-Cart-Token": added.headers["X-Cart-Token"]}).json()["data"]["items"][0]
    assert line["quantity"] == 3 and line["reserved_until"] is None


def _ttl_remove_record(image: dict) -> dict:
    return {
        "eventID": "1",
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "OldImage": image,
            "SequenceNumber": "100",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_a_ttl_removal_delivered_twice_releases_once(local_stack, stocked_product):
    releaser = next(name for name, spec in local_stack.runtime.functions.items()
                    if spec.handler == "functions.inventory.consumers.release_expired_holds.handler")

    # GIVEN a hold that DynamoDB's TTL process has deleted (the local twin of it marks the record)
    sku = stocked_product([5])["skus"][0]["sku_id"]
    guest = Api(local_stack.url)
    assert guest.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code == 201
    (image,) = expire_holds_now(local_stack, sku)
    local_stack.sweeper.sweep_once()
    # WHEN its REMOVE record is delivered twice more (redeliveries), besides the stream's own delivery
    event = {"Records": [_ttl_remove_record(image)]}
    for _ in range(2):
        assert local_stack.runtime.invoke(releaser, event) == {"batchItemFailures": []}
    # THEN the two units came back exactly once
    _wait_for(lambda: audit(local_stack, sku).available == 5, timeout=10)
    time.sleep(1.0)  # let the stream's own delivery land too
    final = audit(local_stack, sku)
    assert final.problems() == []
    assert (final.available, final.reserved, final.live_holds) == (5, 0, {})
    assert final.hold_ends == [image["hold_id"]["S"]]


def test_the_ttl_path_and_the_sweeper_racing_release_each_hold_once(local_stack, stocked_product):
    from functions.inventory.consumers.sweep_holds import sweep

    # GIVEN 12 guests holding 1 unit each, all due at once
    sku = stocked_product([12])["skus"][0]["sku_id"]
    for _ in range(12):
        assert Api(local_stack.url).post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code == 201
    expire_holds_now(local_stack, sku)
    # WHEN DynamoDB's TTL deletions (stream path) and the scheduled sweeper race for them
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(local_stack.sweeper.sweep_once), pool.submit(sweep), pool.submit(sweep)]
        [future.result() for future in futures]
    # THEN once the stream has been drained every unit is back exactly once
    _wait_for(lambda: audit(local_stack, sku).available == 12, timeout=15)
    time.sleep(1.5)  # any late double release would show now
    final = audit(local_stack, sku)
    assert final.problems() == []
    assert (final.available, final.reserved, len(final.hold_ends)) == (12, 0, 12)
