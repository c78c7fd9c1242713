"""Checkout end to end on the local stack, over HTTP: POST /orders until PENDING_PAYMENT (201
with the payment page), and the sandbox's webhook until the order reads CONFIRMED; p50/p95 over
50 checkouts, and the state transitions each checkout costs (Standard workflows bill per
transition)."""

from __future__ import annotations

import statistics
import time
import uuid

CHECKOUTS = 50
WARM_UP = 3
ADDRESS = {"name": "Bench Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def _percentiles(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=20)[-1]


def _transitions(stack, execution_arn: str) -> int:
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=stack.moto.endpoint, region_name="us-east-1")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)  # CONFIRMED is visible before the last step (CommitStock) ends
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return sum(1 for event in events if event["type"].endswith("StateEntered"))


def report() -> str:
    import boto3
    import requests

    from bench.reservations import _create_product
    from bench.stack import shared_stack
    from functions.orders.checkout import execution_name
    from local.seed import api_call, sign_in

    stack = shared_stack()
    seller = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    (sku,) = _create_product(stack, seller, 1, 100_000)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    password = "Bench-Passw0rd!"
    status, _ = api_call(stack, "POST", "/api/v1/auth/register", {"email": email, "password": password, "name": "Bench"})
    assert status == 201
    token = sign_in(stack, email, password)["AccessToken"]
    user_id = api_call(stack, "GET", "/api/v1/users/me", None, token)[1]["data"]["user_id"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    to_pending, to_confirmed, keys, order_ids = [], [], [], []
    for index in range(CHECKOUTS + WARM_UP):  # the first ones warm the execution environments up
        # the last order's saga ends by clearing the cart, which frees it for the next checkout (ADR 0019)
        while session.get(f"{stack.url}/api/v1/cart").json()["data"]["items"]:
            time.sleep(0.01)
        assert session.post(f"{stack.url}/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
        key = uuid.uuid4().hex
        began = time.perf_counter()
        created = session.post(f"{stack.url}/api/v1/orders", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": key})
        assert created.status_code in (201, 202), created.text
        order = created.json()["data"]
        while not order["payment"]:  # 202 PROCESSING: poll until the payment page exists
            time.sleep(0.01)
            order = session.get(f"{stack.url}/api/v1/orders/{order['order_id']}").json()["data"]
        pending = time.perf_counter() - began
        began = time.perf_counter()
        paid = requests.post(order["payment"]["payment_url"], json={"outcome": "succeeded"}, timeout=30)
        assert paid.status_code == 200, paid.text
        while session.get(f"{stack.url}/api/v1/orders/{order['order_id']}").json()["data"]["status"] != "CONFIRMED":
            time.sleep(0.01)
        confirmed = time.perf_counter() - began
        if index >= WARM_UP:
            to_pending.append(pending * 1000)
            to_confirmed.append(confirmed * 1000)
            keys.append(key)
            order_ids.append(order["order_id"])
    sfn = boto3.client("stepfunctions", endpoint_url=stack.moto.endpoint, region_name="us-east-1")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-Checkout"))
    arn = machine["stateMachineArn"].replace(":stateMachine:", ":execution:") + ":" + execution_name(user_id, keys[-1], order_ids[-1])
    transitions = _transitions(stack, arn)
    p50_pending, p95_pending = _percentiles(to_pending)
    p50_confirmed, p95_confirmed = _percentiles(to_confirmed)
    return "\n".join([
        f"## Checkout end to end ({CHECKOUTS} checkouts over HTTP, one shopper, sandbox payments)",
        "",
        "| leg | p50 | p95 |",
        "|---|---|---|",
        f"| POST /orders -> PENDING_PAYMENT with the payment page (201, or 202 then GET) | {p50_pending:.0f} ms | {p95_pending:.0f} ms |",
        f"| sandbox webhook sent -> order reads CONFIRMED | {p50_confirmed:.0f} ms | {p95_confirmed:.0f} ms |",
        "",
        f"State transitions per successful checkout: **{transitions}** (states entered, from the execution history). "
        "Locally each step is an in-process Lambda call through moto's Step Functions interpreter; in AWS add "
        "Lambda invoke latency per step.",
    ])
