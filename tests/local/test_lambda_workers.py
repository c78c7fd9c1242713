"""local.lambda_workers (ADR 0036): with LOCAL_LAMBDA_WORKERS the handlers run in worker
processes and reach moto in the stack's process through botocore. Each flow that crosses the
boundary is exercised on the session stack with its workers started for this module: API
handlers, Step Functions tasks (a checkout paid to CONFIRMED), stream consumers (search), a
handler's error, and a worker that dies."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.checkout.conftest import checkout, pay, payable, register, wait_for_order


@pytest.fixture(scope="module")
def workers(local_stack):
    runtime = local_stack.runtime
    runtime.start_workers(2)
    assert runtime.workers.ready.wait(60), "the lambda workers did not start"
    yield runtime.workers
    runtime.stop_workers()


def _served(workers) -> int:
    return sum(worker.served for worker in workers.workers)


def test_a_checkout_paid_to_confirmed_runs_its_handlers_and_saga_tasks_in_the_workers(local_stack, workers, stocked_product):
    runtime = local_stack.runtime
    # GIVEN a shopper with a cart, and the functions' in-process instances counted
    sku = stocked_product([5])["skus"][0]["sku_id"]
    shopper = register(local_stack)
    in_process = {name: runtime.instance_count(name) for name in runtime.functions}
    served = _served(workers)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    # WHEN it checks out and pays
    order = payable(shopper, checkout(shopper))
    pay(order["payment"]["payment_url"])
    confirmed = wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
    # THEN the order is confirmed with its lines, and the stock the saga committed shows
    assert [(line["sku_id"], line["quantity"]) for line in confirmed["items"]] == [(sku, 2)]
    # AND the workers served the calls (API handlers and the saga's tasks): the stack's
    # process loaded no new instance of any function meanwhile
    assert _served(workers) - served >= 6
    assert {name: runtime.instance_count(name) for name in runtime.functions} == in_process


def test_a_stream_consumer_in_a_worker_indexes_what_a_seller_changes(local_stack, workers, seller, anonymous, stocked_product):
    # GIVEN a product, and a new title with a word no other product has
    product = stocked_product([3])
    word = f"zq{uuid.uuid4().hex[:10]}"
    # WHEN the seller renames it
    response = seller.request("PUT", f"/api/v1/products/{product['product_id']}", json={"title": f"Tee {word}"})
    assert response.status_code == 200, response.text
    # THEN search finds it by the new word (the indexer ran in a worker, fed by the stream)
    deadline = time.monotonic() + 30
    while True:
        found = [item["product_id"] for item in anonymous.get("/api/v1/search", params={"q": word}).json()["data"]["items"]]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found == [product["product_id"]]


def test_bad_input_is_answered_by_the_handler_in_a_worker_as_in_process(local_stack, workers):
    served = _served(workers)
    # WHEN a request the handler refuses arrives
    response = register(local_stack).post("/api/v1/cart/items", json={"sku_id": "nope", "quantity": 0})
    # THEN the same 400 with its stable code, from a worker
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert _served(workers) > served


def test_a_worker_that_dies_leaves_the_others_and_the_stack_serving(local_stack, workers, anonymous):
    # GIVEN both workers up
    victim = workers.workers[0]
    assert all(worker.alive for worker in workers.workers)
    # WHEN one is killed
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while victim.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    # THEN it is out of the pool, and requests keep being answered by the other
    assert not victim.alive
    served = workers.workers[1].served
    for _ in range(5):
        assert anonymous.get("/api/v1/categories").status_code == 200
    assert workers.workers[1].served >= served + 5
