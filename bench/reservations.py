"""Reservations per second on ONE hot SKU, 16 clients over HTTP on the local stack, with an
oversell check; beside it, the same clients on 16 different SKUs (no contention) as the ratio's
baseline."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

CLIENTS = 16
SECONDS = 10.0


def _create_product(stack, token: str, skus: int, on_hand: int) -> list[str]:
    from local.seed import api_call

    status, categories = api_call(stack, "GET", "/api/v1/categories", None, None)
    category = categories["data"][0]["children"][0]["category_id"] if categories["data"][0]["children"] else categories["data"][0]["category_id"]
    body = {
        "title": "Bench hot item", "description": "", "brand": "Bench", "category_id": category, "attributes": {}, "images": [],
        "skus": [{"options": {"size": str(i)}, "price": 1000, "currency": "USD"} for i in range(skus)],
    }
    status, created = api_call(stack, "POST", "/api/v1/products", body, token)
    assert status == 201, created
    sku_ids = [sku["sku_id"] for sku in created["data"]["skus"]]
    for sku_id in sku_ids:
        status, answer = api_call(stack, "PUT", f"/api/v1/inventory/{sku_id}", {"on_hand": on_hand}, token)
        assert status == 200, answer
    return sku_ids


def _run(url: str, sku_for_client: list[str]) -> tuple[int, int, int, float]:
    """(reserved, out of stock, other, seconds) for CLIENTS guests adding 1 unit in a loop."""
    import requests

    counts = {"ok": 0, "oos": 0, "other": 0}
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(index: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            # a fresh guest cart per add: each add is a new hold (the contended path)
            session.headers.pop("X-Cart-Token", None)
            status = session.post(url, json={"sku_id": sku_for_client[index], "quantity": 1}, timeout=60).status_code
            key = "ok" if status == 201 else "oos" if status == 409 else "other"
            with lock:
                counts[key] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return counts["ok"], counts["oos"], counts["other"], time.monotonic() - started


def report() -> str:
    import logging

    from bench.stack import shared_stack
    from local.seed import sign_in
    from tests.inventory.stock_audit import audit

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()
    token = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    url = f"{stack.url}/api/v1/cart/items"
    on_hand = 100_000
    (hot,) = _create_product(stack, token, 1, on_hand)
    spread = _create_product(stack, token, CLIENTS, on_hand)
    hot_ok, hot_oos, hot_other, hot_seconds = _run(url, [hot] * CLIENTS)
    cold_ok, _, cold_other, cold_seconds = _run(url, spread)
    state = audit(stack, hot)
    oversold = max(0, state.reserved - state.on_hand)
    hot_rate, cold_rate = hot_ok / hot_seconds, cold_ok / cold_seconds
    return "\n".join([
        "## Reservations on one hot SKU",
        "",
        f"{CLIENTS} clients over HTTP for {SECONDS:.0f} s each run; every add is a new guest hold (one TransactWriteItems).",
        "",
        "| run | reservations/s | 409 | other errors |",
        "|---|---|---|---|",
        f"| one hot SKU | {hot_rate:.1f} | {hot_oos} | {hot_other} |",
        f"| {CLIENTS} SKUs, one per client | {cold_rate:.1f} | 0 | {cold_other} |",
        "",
        f"Hot / spread ratio: **{hot_rate / cold_rate:.2f}x**. Oversold units on the hot SKU: **{oversold}** "
        f"(reserved {state.reserved} of {state.on_hand}; on_hand == available + reserved: "
        f"{state.on_hand == state.available + state.reserved}; ledger reconciles: {not state.problems()}).",
    ])
