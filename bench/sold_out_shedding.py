"""Sold-out shedding: add-to-cart requests per second answered 409 OUT_OF_STOCK by the admission
gate (functions/inventory/gate.py: one Lua call in the cache) vs by DynamoDB (the reservation
transaction, gate switched off with ADMISSION_GATE=off), on one sold-out SKU, side by side in one
run, with the DynamoDB calls each request cost. Beside them, successful reservations on an in-stock
SKU (acknowledged only after the DynamoDB transaction): the gap between that and the gate's
memory-speed answer is the most seed 001's write-behind could gain (docs/decisions/0024)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

CLIENTS = 8
SECONDS = 8.0


def _run(url: str, sku: str, ulid: str, expected: int = 409) -> tuple[int, int, float, int]:
    """(answers with the `expected` status, other answers, seconds, DynamoDB calls that mention
    the SKU's product)."""
    import requests

    from local.call_counter import count_dynamodb_calls

    counts = {"oos": 0, "other": 0}
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(_: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            response = session.post(url, json={"sku_id": sku, "quantity": 1}, timeout=60)
            if expected == 409:
                wanted = response.status_code == 409 and response.json()["error"]["code"] == "OUT_OF_STOCK"
            else:
                wanted = response.status_code == expected
            with lock:
                counts["oos" if wanted else "other"] += 1

    with count_dynamodb_calls(mentioning=ulid) as calls:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        seconds = time.monotonic() - started
    return counts["oos"], counts["other"], seconds, sum(calls.values())


def _sold_out_sku(stack, token: str) -> tuple[str, str]:
    import redis

    from bench.reservations import _create_product
    from functions.inventory.availability import sku_key
    from functions.inventory.heartbeat import beat
    from local.seed import api_call

    (sku,) = _create_product(stack, token, 1, 1)
    status, _ = api_call(stack, "POST", "/api/v1/cart/items", {"sku_id": sku, "quantity": 1}, None)
    assert status == 201, status
    cache = redis.Redis.from_url(stack.cache.url, decode_responses=True)
    deadline = time.monotonic() + 15
    while not (cache.get(sku_key(sku)) or "").endswith("|0"):  # the stream has told the cache
        assert time.monotonic() < deadline, "the availability cache never saw the sell-out"
        beat()
        time.sleep(0.1)
    return sku, sku[4:30]  # the SKU, and its product's ULID (in every item key of it)


def report() -> str:
    import logging

    from bench.stack import shared_stack
    from local.seed import sign_in
    from tests.inventory.stock_audit import audit

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()
    token = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    url = f"{stack.url}/api/v1/cart/items"
    sku, ulid = _sold_out_sku(stack, token)
    gate_oos, gate_other, gate_seconds, gate_calls = _run(url, sku, ulid)
    previous = os.environ.get("ADMISSION_GATE")
    os.environ["ADMISSION_GATE"] = "off"  # the handlers run in this process: their environment
    try:
        table_oos, table_other, table_seconds, table_calls = _run(url, sku, ulid)
    finally:
        if previous is None:
            os.environ.pop("ADMISSION_GATE", None)
        else:
            os.environ["ADMISSION_GATE"] = previous
    from bench.reservations import _create_product

    (in_stock,) = _create_product(stack, token, 1, 100_000)
    held, held_other, held_seconds, held_calls = _run(url, in_stock, in_stock[4:30], expected=201)
    state = audit(stack, sku)
    gate_rate, table_rate, held_rate = gate_oos / gate_seconds, table_oos / table_seconds, held / held_seconds
    return "\n".join([
        "## Sold-out shedding (admission gate)",
        "",
        f"{CLIENTS} clients over HTTP for {SECONDS:.0f} s each run, adding one unit of a sold-out SKU "
        "(every answer should be 409 OUT_OF_STOCK).",
        "",
        "| answered by | 409/s | other answers | DynamoDB calls per request |",
        "|---|---|---|---|",
        f"| the gate (cache, Lua) | {gate_rate:.1f} | {gate_other} | {gate_calls / max(1, gate_oos + gate_other):.2f} |",
        f"| DynamoDB (ADMISSION_GATE=off) | {table_rate:.1f} | {table_other} | {table_calls / max(1, table_oos + table_other):.2f} |",
        "",
        f"Reservations that succeed (201, each a new guest hold, acknowledged after the DynamoDB transaction), "
        f"in-stock SKU: **{held_rate:.1f}/s**, {held_calls / max(1, held + held_other):.2f} DynamoDB calls each, "
        f"{held_other} other answers. An answer from memory (the gate's row) is **{gate_rate / held_rate:.1f}x** that: "
        "the ceiling of what acknowledging from memory and writing later (write-behind) could gain here.",
        "",
        f"Gate / DynamoDB ratio: **{gate_rate / table_rate:.2f}x** requests/s. With the gate, what reaches DynamoDB is "
        "one probe per SKU per second (GATE_PROBE_SECONDS). Locally both answers run in one Python process behind one "
        "HTTP server, so the ratio understates AWS, where the shed request also costs no read or write capacity. "
        f"Oversold: **{max(0, state.reserved - state.on_hand)}** (reserved {state.reserved} of {state.on_hand}; "
        f"invariants hold: {not state.problems()}).",
    ])


if __name__ == "__main__":  # python -m bench.sold_out_shedding: this benchmark alone (~1 min with the stack's start)
    from bench.stack import stop_shared_stack

    try:
        print(report())
    finally:
        stop_shared_stack()
