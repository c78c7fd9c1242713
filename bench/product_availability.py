"""Product page with 25 SKUs: DynamoDB calls and latency with the availability cache (hit and
degraded) vs the seeds' naive design (one inventory GetItem per SKU), interleaved on one local stack.

All three variants are served the same way (HTTP -> local gateway -> proxy event -> in-process
Lambda runtime -> powertools resolver) and read the product from the product cache; only the
availability read differs:

- **cached**: the real `GET /api/v1/products/{id}` (functions/inventory/availability.py), a hit;
- **degraded**: the same handler with a watermark it must not trust (AVAILABILITY_STALE_SECONDS=-1),
  so availability is ONE BatchGetItem (what the cache outage / stale projector path costs);
- **naive (seeds)**: a handler that exists only in this benchmark, labelled as such, that reads
  stock with one GetItem per SKU, the design the seed documents describe.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from typing import Any

SKUS = 25
ROUNDS = 50
NAIVE_FUNCTION = "BenchNaiveProductPage"  # registered in the local runtime by this benchmark only
NAIVE_PREFIX = "/bench/naive"


# -- the naive variant (benchmark only; never deployed) ------------------------------------------

_naive_app = None


def naive_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """NAIVE, BENCHMARK ONLY: the product page with one inventory GetItem per SKU."""
    global _naive_app
    if _naive_app is None:
        from functions.catalog.product_cache import get_or_load
        from functions.catalog.products import get_product, to_view
        from shared.http import create_app, ok
        from shared.tables import connection

        app = create_app()

        @app.get("/api/v1/products/<product_id>")
        def naive_page(product_id: str):
            view, _ = get_or_load(product_id, lambda: to_view(get_product(product_id)))
            table = os.environ["INVENTORY_TABLE_NAME"]
            for sku in view["skus"]:
                item = connection().client.get_item(
                    TableName=table, Key={"pk": {"S": f"SKU#{sku['sku_id']}"}, "sk": {"S": "STOCK"}},
                    ProjectionExpression="available",
                ).get("Item") or {}
                available = max(0, int(item.get("available", {}).get("N", "0")))
                sku["availability"] = {"in_stock": available > 0, "available": available}
            return ok(app, view)

        _naive_app = app
    return _naive_app.resolve(event, context)


def _install_naive_route(stack: Any) -> None:
    """GET /bench/naive/api/v1/products/{id} -> the naive handler, through the same gateway and runtime."""
    from local.cfn import FunctionSpec

    real = next(spec for spec in stack.runtime.functions.values() if spec.handler == "functions.catalog.handlers.get_product.handler")
    stack.runtime.register(FunctionSpec(NAIVE_FUNCTION, f"{__name__}.naive_handler", dict(real.environment), real.timeout, real.memory_size))
    gateway = stack.gateway

    def serve(request: Any) -> Any:
        path = request.path.removeprefix(NAIVE_PREFIX)
        route, parameters = gateway.match("GET", path)
        event = gateway.proxy_event(request, route, parameters, None)
        event["path"] = path
        return gateway.to_http(stack.runtime.invoke(NAIVE_FUNCTION, event))

    gateway.extra_routes[f"{NAIVE_PREFIX}/"] = serve


# -- the run ------------------------------------------------------------------------------------


def _create_product(stack: Any) -> dict[str, Any]:
    """A 25-SKU product created through the API as the demo seller, its stock seeded."""
    from functions.inventory.stock import set_initial_stock
    from local.seed import api_call, sign_in

    token = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    status, tree = api_call(stack, "GET", "/api/v1/categories")
    clothing = next(node for node in tree["data"] if node["name"] == "Clothing")
    category = next(c for c in clothing["children"] if c["name"] == "T-Shirts")["category_id"]
    sizes, colors = ("XS", "S", "M", "L", "XL"), ("black", "white", "navy", "red", "green")
    body = {"title": "Bench Tee, 25 variants", "brand": "Northwind", "category_id": category,
            "skus": [{"options": {"size": s, "color": c}, "price": 1999, "currency": "USD"} for s in sizes for c in colors]}
    status, created = api_call(stack, "POST", "/api/v1/products", body, token)
    if status != 201:
        raise RuntimeError(f"creating the bench product failed: {status} {created}")
    product = created["data"]
    for index, sku in enumerate(product["skus"]):
        set_initial_stock(sku["sku_id"], index % 7, product["product_id"], product["seller"]["id"])
    return product


def _drain_streams(stack: Any, quiet_polls: int = 2) -> None:
    """Poll the streams until nothing is left (a catalog change can set off another record)."""
    quiet = 0
    deadline = time.monotonic() + 30
    while quiet < quiet_polls and time.monotonic() < deadline:
        quiet = quiet + 1 if stack.poller.poll_once() == 0 else 0
        time.sleep(0.2)


def report() -> str:
    import logging

    import requests

    from bench.stack import shared_stack
    from functions.inventory.heartbeat import beat
    from local.call_counter import count_dynamodb_calls

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.perf_counter()
    stack = shared_stack()
    ready = started
    product = _create_product(stack)
    expected = [index % 7 for index in range(SKUS)]
    ulid = product["product_id"].removeprefix("prd_")
    _install_naive_route(stack)
    session = requests.Session()
    urls = {
        "cached": f"{stack.url}/api/v1/products/{product['product_id']}",
        "degraded": f"{stack.url}/api/v1/products/{product['product_id']}",
        "naive": f"{stack.url}{NAIVE_PREFIX}/api/v1/products/{product['product_id']}",
    }

    def get(mode: str) -> tuple[float, Counter]:
        if mode == "degraded":
            os.environ["AVAILABILITY_STALE_SECONDS"] = "-1"  # no watermark is fresh enough
        try:
            with count_dynamodb_calls(mentioning=ulid) as calls:
                began = time.perf_counter()
                response = session.get(urls[mode])
                elapsed = (time.perf_counter() - began) * 1000
        finally:
            os.environ.pop("AVAILABILITY_STALE_SECONDS", None)
        skus = response.json()["data"]["skus"]
        assert [sku["availability"]["available"] for sku in skus] == expected, mode
        return elapsed, calls

    beat()
    _drain_streams(stack)  # the stock is projected, and whatever the seeding set off has settled
    for mode in urls:  # warm every variant's execution environment and the product cache
        get(mode)
    ready = time.perf_counter()
    times: dict[str, list[float]] = {mode: [] for mode in urls}
    calls: dict[str, Counter] = {mode: Counter() for mode in urls}
    for _ in range(ROUNDS):  # interleaved, so machine noise hits every variant alike
        for mode in urls:
            elapsed, made = get(mode)
            times[mode].append(elapsed)
            calls[mode].update(made)
    total, measuring = time.perf_counter() - started, time.perf_counter() - ready

    def ops(mode: str) -> str:
        return ", ".join(f"{op} {count / ROUNDS:g}" for op, count in sorted(calls[mode].items())) or "none (0)"

    def row(mode: str, label: str) -> str:
        median = statistics.median(times[mode])
        p95 = statistics.quantiles(times[mode], n=20)[-1]
        return f"| {label} | {ops(mode)} | {median:.2f} | {p95:.2f} |"

    cached, naive, degraded = (statistics.median(times[m]) for m in ("cached", "naive", "degraded"))
    return "\n".join([
        f"## Product page with {SKUS} SKUs: availability cache vs one GetItem per SKU (median of {ROUNDS}, interleaved)",
        "",
        "| variant | DynamoDB calls per request | median ms | p95 ms |",
        "|---|---|---:|---:|",
        row("cached", "availability cache hit (the real page)"),
        row("degraded", "degraded: stale watermark, one BatchGetItem"),
        row("naive", "NAIVE, benchmark only: one inventory GetItem per SKU (the seeds' design)"),
        "",
        f"Latency ratio cache hit / naive: {cached / naive:.2f} (naive is {naive / cached:.1f}x slower); "
        f"degraded / naive: {degraded / naive:.2f}. All three read the product from the product cache and go "
        "through the same gateway and runtime; only the availability read differs. Calls are counted in "
        "moto for requests that mention this product (background workers excluded). "
        f"A hit costs two cache round trips (product, availability) and no DynamoDB call. Local moto on "
        f"127.0.0.1 is slower per call than DynamoDB in AWS, so the naive gap is indicative, not AWS numbers. "
        f"Measuring took {measuring:.0f} s of a {total:.0f} s run (the rest is starting the local stack).",
    ])


if __name__ == "__main__":
    print(report())
