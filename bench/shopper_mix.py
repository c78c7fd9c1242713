"""A fixed shopper mix over HTTP on the local stack, with moto reached in-process (the default,
ADR 0029), the same with moto's fast paths off (LOCAL_MOTO_FAST_PATHS=0, ADR 0034) and over HTTP
(LOCAL_AWS_TRANSPORT=http) side by side: requests/s of SHOPPERS threads
(browse a category, search, product pages, add to cart, read the cart) for SECONDS each, and
under that load, on the same stack, checkout to payable (POST /orders until the payment page
exists) and search visibility (a seller's price change until /search shows it).

Each transport gets its own stack (moto's backends are process-wide: a new stack resets them),
so this runs after the shared-stack benches."""

from __future__ import annotations

import math
import os
import random
import statistics
import threading
import time
import uuid
from typing import Any
from unittest import mock

SHOPPERS = 8
SECONDS = 10.0
BUYERS = 4  # accounts the buyer rotates through: a cart is free again once its saga clears it (ADR 0019)
CATALOG = 24  # demo products the shoppers browse
# (row, transport, environment while the stack runs)
CONFIGURATIONS = (
    ("in-process", "in-process", {}),
    ("in-process, fast paths off", "in-process", {"LOCAL_MOTO_FAST_PATHS": "0"}),
    ("http", "http", {}),
)
VISIBILITY_BUDGET_MS = 2000
ADDRESS = {"name": "Bench Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
WORDS = ["shirt", "jeans", "shoes", "jacket", "phone", "laptop", "tv", "lamp", "chair", "novel", "tent", "yoga"]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else float("nan")


def _start(transport: str) -> Any:
    from local.stack import LocalStack

    previous = os.environ.get("LOCAL_AWS_TRANSPORT")
    os.environ["LOCAL_AWS_TRANSPORT"] = transport
    try:
        return LocalStack(port=0, seed=False).start()
    finally:
        if previous is None:
            os.environ.pop("LOCAL_AWS_TRANSPORT", None)
        else:
            os.environ["LOCAL_AWS_TRANSPORT"] = previous


def _shopper_token(stack: Any, index: int) -> str:
    from local.seed import api_call, sign_in

    email, password = f"mix-{index}-{uuid.uuid4().hex[:6]}@example.com", "Bench-Passw0rd!"
    status, body = api_call(stack, "POST", "/api/v1/auth/register", {"email": email, "password": password, "name": "Mix"})
    assert status == 201, body
    return sign_in(stack, email, password)["AccessToken"]


def _run_mix(stack: Any) -> dict[str, Any]:
    import requests

    from local.seed import seed_accounts_and_categories, seed_products

    seller_token, category_ids = seed_accounts_and_categories(stack)
    seed_products(stack, seller_token, category_ids, count=CATALOG)
    api = f"{stack.url}/api/v1"
    anonymous = requests.Session()
    products = anonymous.get(f"{api}/products", params={"category": category_ids["Phones"], "limit": 40}).json()["data"]["items"]
    product_ids = [item["product_id"] for item in products]
    for leaf in ("T-Shirts", "Shoes", "Laptops", "Cookware"):
        listed = anonymous.get(f"{api}/products", params={"category": category_ids[leaf], "limit": 40}).json()["data"]["items"]
        product_ids.extend(item["product_id"] for item in listed)
    leaves = [category_ids[name] for name in ("Phones", "Laptops", "T-Shirts", "Shoes", "Cookware", "Fiction")]
    tokens = [_shopper_token(stack, index) for index in range(SHOPPERS + BUYERS)]

    stop = threading.Event()
    lock = threading.Lock()
    counts = {"ok": 0, "errors": 0}
    payable_ms: list[float] = []
    visible_ms: list[float] = []

    def shopper(index: int) -> None:
        rng = random.Random(index)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[index]}"
        ok = errors = 0
        while not stop.is_set():
            try:
                ok, errors = step(session, rng, ok, errors)
            except (requests.RequestException, KeyError, ValueError):  # an answer without the expected body
                errors += 1
        with lock:
            counts["ok"] += ok
            counts["errors"] += errors

    def step(session: Any, rng: random.Random, ok: int, errors: int) -> tuple[int, int]:
        """One shopper action: (answered, errors) counts after it."""
        action = rng.choices(("browse", "search", "page", "add", "cart"), weights=(3, 3, 3, 2, 1))[0]
        if action == "browse":
            response = session.get(f"{api}/products", params={"category": rng.choice(leaves), "limit": 20})
        elif action == "search":
            response = session.get(f"{api}/search", params={"q": rng.choice(WORDS), "limit": 20})
        elif action == "page":
            response = session.get(f"{api}/products/{rng.choice(product_ids)}")
        elif action == "add":
            page = session.get(f"{api}/products/{rng.choice(product_ids)}").json()["data"]
            in_stock = [sku for sku in page["skus"] if sku["availability"]["in_stock"]]
            ok += 1
            if not in_stock:
                return ok, errors
            response = session.post(f"{api}/cart/items", json={"sku_id": rng.choice(in_stock)["sku_id"], "quantity": 1})
            if response.status_code == 409:  # OUT_OF_STOCK under contention is an answer the contract promises
                return ok + 1, errors
            if rng.random() < 0.2:  # keep carts small
                session.delete(f"{api}/cart")
                ok += 1
        else:
            response = session.get(f"{api}/cart")
        if 200 <= response.status_code < 300:
            ok += 1
        else:
            errors += 1
        return ok, errors

    def buyer() -> None:
        """One shopper checks out in a loop: time from POST /orders to a payable order, then pays."""
        sessions = [requests.Session() for _ in range(BUYERS)]
        for index, buyer_session in enumerate(sessions):
            buyer_session.headers["Authorization"] = f"Bearer {tokens[SHOPPERS + index]}"
        rng = random.Random(99)
        turn = 0
        while not stop.is_set():
            try:
                session = sessions[turn % BUYERS]
                turn += 1
                page = session.get(f"{api}/products/{rng.choice(product_ids)}").json()["data"]
                in_stock = [sku for sku in page["skus"] if sku["availability"]["available"] > 5]
                if not in_stock:
                    continue
                session.delete(f"{api}/cart")
                if session.post(f"{api}/cart/items", json={"sku_id": in_stock[0]["sku_id"], "quantity": 1}).status_code not in (200, 201):
                    continue
                began = time.perf_counter()
                created = session.post(f"{api}/orders", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": uuid.uuid4().hex})
                if created.status_code not in (201, 202):
                    continue
                order = created.json()["data"]
                while not order["payment"] and not stop.is_set():
                    time.sleep(0.02)
                    order = session.get(f"{api}/orders/{order['order_id']}").json()["data"]
                if not order["payment"]:
                    return
                payable_ms.append((time.perf_counter() - began) * 1000)
                requests.post(order["payment"]["payment_url"], json={"outcome": "succeeded"}, timeout=30)
            except (requests.RequestException, KeyError, ValueError):  # a broken answer: try again
                continue

    def seller() -> None:
        """Price changes of one product, each timed until /search returns the new price."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {seller_token}"
        word = "zephyr" + uuid.uuid4().hex[:6]
        created = session.post(f"{api}/products", json={"title": f"Wireless {word} Headphones", "brand": "Sonora",
                                                        "category_id": category_ids["Audio"],
                                                        "skus": [{"options": {"color": "Blue"}, "price": 5999, "currency": "USD"}]})
        assert created.status_code == 201, created.text
        product = created.json()["data"]
        pid, sku = product["product_id"], product["skus"][0]["sku_id"]

        def visible(price: int) -> bool:
            items = anonymous_search.get(f"{api}/search", params={"q": word}).json()["data"]["items"]
            return any(item["product_id"] == pid and item["price"] == price for item in items)

        anonymous_search = requests.Session()
        while not visible(5999) and not stop.is_set():
            time.sleep(0.05)
        price = 4000
        while not stop.is_set():
            try:
                price += 1
                sent = time.perf_counter()
                if session.put(f"{api}/products/{pid}", json={"skus": [{"sku_id": sku, "price": price, "currency": "USD"}]}).status_code != 200:
                    continue
                while not visible(price):
                    if stop.is_set():
                        return
                    time.sleep(0.05)
                visible_ms.append((time.perf_counter() - sent) * 1000)
            except (requests.RequestException, KeyError, ValueError):  # a broken answer: try again
                continue

    threads = [threading.Thread(target=shopper, args=(index,)) for index in range(SHOPPERS)]
    threads += [threading.Thread(target=buyer), threading.Thread(target=seller)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    seconds = time.perf_counter() - began
    return {"rps": counts["ok"] / seconds, "errors": counts["errors"], "payable": payable_ms, "visible": visible_ms}


def report() -> str:
    import logging

    from bench.stack import stop_shared_stack

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    stop_shared_stack()  # each configuration needs a stack of its own (moto is reset per stack)
    results = {}
    for row, transport, environment in CONFIGURATIONS:
        with mock.patch.dict(os.environ, environment):
            stack = _start(transport)
            try:
                results[row] = _run_mix(stack)
            finally:
                stack.stop()
    base, slow, http = results["in-process"], results["in-process, fast paths off"], results["http"]

    def ms(values: list[float], pct: float) -> str:
        return f"{_percentile(values, pct):.0f} ms" if values else "n/a"

    rows = []
    for transport, result in results.items():
        rows.append(
            f"| {transport} | {result['rps']:.1f} | {result['errors']} | {ms(result['payable'], 50)} | {ms(result['payable'], 95)} "
            f"({len(result['payable'])}) | {ms(result['visible'], 50)} | {ms(result['visible'], 95)} ({len(result['visible'])}) |"
        )
    visible_p95 = _percentile(base["visible"], 95) if base["visible"] else float("nan")
    return "\n".join([
        f"## Shopper mix over HTTP: moto in-process, without its fast paths, and over HTTP ({SHOPPERS} shoppers + 1 buyer + 1 seller, {SECONDS:g} s each)",
        "",
        "Shoppers browse a category, search, read product pages, add to cart and read it (3:3:3:2:1); the buyer checks out "
        f"in a loop (rotating over {BUYERS} accounts); the seller changes a price and waits for /search to show it. Requests/s counts the shoppers' answered requests.",
        "",
        "| moto | requests/s | errors | checkout to payable p50 | p95 (n) | search visibility p50 | p95 (n) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Fast paths on vs off (ADR 0034): **{base['rps'] / slow['rps']:.2f}x** requests/s; checkout to payable median off vs on "
        f"{statistics.median(slow['payable']) / statistics.median(base['payable']) if base['payable'] and slow['payable'] else float('nan'):.2f}x. "
        f"In-process vs HTTP transport: **{base['rps'] / http['rps']:.2f}x** requests/s. Search visibility p95 under load "
        f"(in-process): {visible_p95:.0f} ms vs budget {VISIBILITY_BUDGET_MS} ms = **{visible_p95 / VISIBILITY_BUDGET_MS:.2f}x**. "
        f"Median of checkout to payable, HTTP vs in-process: "
        f"{statistics.median(http['payable']) / statistics.median(base['payable']) if base['payable'] and http['payable'] else float('nan'):.2f}x.",
    ])


if __name__ == "__main__":
    print(report())
