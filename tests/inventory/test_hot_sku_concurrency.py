"""64 shoppers, one SKU with 20 units, all at once over HTTP: exactly 20 get one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.inventory.stock_audit import audit


def test_64_concurrent_shoppers_never_oversell(local_stack, stocked_product):
    # GIVEN a SKU with 20 on hand
    sku = stocked_product([20])["skus"][0]["sku_id"]
    url = f"{local_stack.url}/api/v1/cart/items"
    # AND a watcher that checks on_hand == available + reserved while the rush goes on
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            state = audit(local_stack, sku)
            seen.append((state.on_hand, state.available, state.reserved))

    watcher = threading.Thread(target=watch)
    watcher.start()

    # WHEN 64 guests each add one unit at the same moment
    barrier = threading.Barrier(64)

    def shop(_: int) -> int:
        session = requests.Session()
        barrier.wait()
        return session.post(url, json={"sku_id": sku, "quantity": 1}, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(shop, range(64)))
    done.set()
    watcher.join()

    # THEN exactly 20 succeed and 44 are told it is out of stock
    assert sorted(statuses).count(201) == 20, statuses
    assert statuses.count(409) == 44, statuses
    # AND the counters were consistent at every observation, and are exact at the end
    assert seen and all(on_hand == available + reserved for on_hand, available, reserved in seen)
    final = audit(local_stack, sku)
    assert (final.on_hand, final.available, final.reserved) == (20, 0, 20)
    assert final.problems() == []
    assert len(final.live_holds) == 20 and set(final.live_holds.values()) == {1}
