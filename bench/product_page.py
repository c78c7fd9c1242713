"""Product page: cache hit vs cache miss, and DynamoDB calls per page, on one local stack."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter

ROUNDS = 150


def _count_dynamodb_calls() -> tuple[Counter, threading.Lock]:
    """Count DynamoDB API calls by operation (moto runs in this process)."""
    from moto.dynamodb.responses import DynamoHandler

    calls: Counter = Counter()
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def counting(self):  # noqa: ANN001, ANN202
        target = self.headers.get("X-Amz-Target", "")
        with lock:
            calls[target.rsplit(".", 1)[-1]] += 1
        return original(self)

    DynamoHandler.call_action = counting
    return calls, lock


def report() -> str:
    import logging

    import redis
    import requests

    from bench.stack import shared_stack

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()
    calls, _ = _count_dynamodb_calls()
    session = requests.Session()
    tree = session.get(f"{stack.url}/api/v1/categories").json()["data"]
    clothing = next(node for node in tree if node["name"] == "Clothing")
    category = next(c for c in clothing["children"] if c["name"] == "T-Shirts")["category_id"]
    listed = session.get(f"{stack.url}/api/v1/products", params={"category": category, "limit": 20}).json()["data"]["items"]
    product = max(listed, key=lambda p: len(p["skus"]))
    url = f"{stack.url}/api/v1/products/{product['product_id']}"
    cache = redis.Redis.from_url(stack.cache.url)
    session.get(url)
    results: dict[str, list[float]] = {"hit": [], "miss": []}
    per_page: dict[str, Counter] = {"hit": Counter(), "miss": Counter()}
    for _ in range(ROUNDS):  # interleaved so noise hits both alike
        for mode in ("miss", "hit"):
            if mode == "miss":
                cache.delete(f"product:{{{product['product_id']}}}")
            before = Counter(calls)
            started = time.perf_counter()
            assert session.get(url).status_code == 200
            results[mode].append((time.perf_counter() - started) * 1000)
            per_page[mode].update(Counter(calls) - before)
    hit, miss = statistics.median(results["hit"]), statistics.median(results["miss"])

    def ops(mode: str) -> str:
        return ", ".join(f"{op} {count / ROUNDS:g}" for op, count in sorted(per_page[mode].items())) or "none"

    return "\n".join([
        f"## Product page: cache hit vs miss (median of {ROUNDS}, interleaved, {len(product['skus'])} SKUs)",
        "",
        "| | median ms | DynamoDB calls per page |",
        "|---|---:|---|",
        f"| cache miss | {miss:.2f} | {ops('miss')} |",
        f"| cache hit | {hit:.2f} | {ops('hit')} |",
        "",
        f"Hit/miss latency ratio: {hit / miss:.2f}. A miss is the product cache's (its key deleted); per-SKU "
        "availability comes from the availability cache in both rows (see the next section). Calls by the "
        "local stack's background workers (the TTL sweeper's Scans, the hold sweeper) are counted too.",
    ])
