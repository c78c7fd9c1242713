"""Order writes with the local stack's write-capacity metering on (ADR 0023): checkouts, payments,
cancels and ships all at once on two hot SKUs (one bucketed, one a single item), with guests
reserving the same stock meanwhile. Every answer is a success or a clear 409/503 with a stable
code (never a 500), and afterwards the stock invariants hold and no order is left half-written."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from local.capacity import metered
from tests.checkout.conftest import checkout, pay, payable, register, wait_for_order, wait_until
from tests.inventory.stock_audit import audit

SHIP = {"carrier": "UPS", "tracking_number": "1Z999"}
SUCCESS = {200, 201, 202}
# The only refusals a shopper or seller may see here, each with its one stable code.
CLEAR_REFUSALS = {409: {"OUT_OF_STOCK", "INVALID_STATE"}, 503: {"SERVICE_UNAVAILABLE"}}
SETTLED = ("PENDING_PAYMENT", "CONFIRMED", "SHIPPED", "CANCELLED", "FAILED")


def _answer(response: requests.Response) -> tuple[int, str | None]:
    code = None
    if response.status_code >= 400:
        code = (response.json().get("error") or {}).get("code")
    return response.status_code, code


def test_concurrent_checkouts_cancels_and_ships_on_hot_skus_with_metering_on(local_stack, seller, stocked_product):
    # GIVEN two hot SKUs with 40 units each: A over 8 buckets, B a single stock item
    product = stocked_product([40, 40])
    hot, single = (entry["sku_id"] for entry in product["skus"])
    assert seller.request("PUT", f"/api/v1/inventory/{hot}", json={"buckets": 8}).status_code == 200

    def shopper_with_cart() -> Any:
        api = register(local_stack)
        for sku in (hot, single):
            assert api.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
        return api

    def pending_order() -> tuple[Any, dict]:
        api = shopper_with_cart()
        return api, payable(api, checkout(api))

    def confirmed_order() -> tuple[Any, dict]:
        api, order = pending_order()
        pay(order["payment"]["payment_url"])
        return api, wait_for_order(api, order["order_id"], ("CONFIRMED",))

    # AND (prepared without metering) 3 shoppers about to check out, 2 unpaid orders to cancel,
    # 1 to pay, and 3 paid ones: one to ship, one to cancel, one that is shipped and cancelled at once
    with ThreadPoolExecutor(max_workers=9) as pool:
        to_check_out = [pool.submit(shopper_with_cart) for _ in range(3)]
        to_cancel = [pool.submit(pending_order) for _ in range(2)]
        to_pay = pool.submit(pending_order)
        paid = [pool.submit(confirmed_order) for _ in range(3)]
        to_check_out, to_cancel, to_pay, paid = ([f.result() for f in to_check_out], [f.result() for f in to_cancel],
                                                 to_pay.result(), [f.result() for f in paid])
    # (CommitStock follows ConfirmOrder: the 3 paid orders' 3 units of each SKU are sold)
    assert wait_until(lambda: (audit(local_stack, hot).on_hand, audit(local_stack, single).on_hand) == (37, 37))
    (ship_api, ship_order), (cancel_api, cancel_order), (race_api, race_order) = paid

    url = local_stack.url
    calls: list[tuple[str, Any]] = []
    for api in to_check_out:
        calls.append(("checkout", lambda api=api: checkout(api)))
    for api, order in to_cancel:
        calls.append(("cancel", lambda api=api, order=order: api.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")))
    calls.append(("pay", lambda: requests.post(to_pay[1]["payment"]["payment_url"], json={"outcome": "succeeded"}, timeout=60)))
    calls.append(("ship", lambda: seller.request("PUT", f"/api/v1/seller/orders/{ship_order['order_id']}/ship", json=SHIP)))
    calls.append(("cancel", lambda: cancel_api.request("PUT", f"/api/v1/orders/{cancel_order['order_id']}/cancel")))
    calls.append(("race-ship", lambda: seller.request("PUT", f"/api/v1/seller/orders/{race_order['order_id']}/ship", json=SHIP)))
    calls.append(("race-cancel", lambda: race_api.request("PUT", f"/api/v1/orders/{race_order['order_id']}/cancel")))
    for index in range(12):  # guests reserving the same hot stock meanwhile
        sku = (hot, single)[index % 2]
        calls.append(("guest", lambda sku=sku: requests.post(f"{url}/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}, timeout=60)))
    barrier = threading.Barrier(len(calls))

    def run(call: tuple[str, Any]) -> tuple[str, requests.Response]:
        barrier.wait()
        return call[0], call[1]()

    # WHEN they all go at once with per-item write capacity metered (and stay metered while the
    # saga and the settler finish what the answers started)
    with metered(40, transaction_ms=100) as meter:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(run, calls))

        # THEN every answer is a success or a clear refusal with a stable code, never a 500
        outcomes = [(name, *_answer(response)) for name, response in answers]
        for name, status, code in outcomes:
            assert status in SUCCESS or code in CLEAR_REFUSALS.get(status, set()), (name, status, code, outcomes)
        # AND of the shipment and the cancellation of one order at most one happened
        race = {name: status for name, status, _ in outcomes if name.startswith("race-")}
        assert not (race["race-ship"] == 200 and race["race-cancel"] == 200), outcomes

        # AND every order ends settled: new checkouts payable or failed, nothing PROCESSING, and
        # each cancel, ship or payment that was answered a success took effect
        status_of = [status for _, status, _ in outcomes]
        orders: dict[str, tuple[Any, str | None]] = {}
        for (name, response), status in zip(answers, status_of, strict=True):
            if name == "checkout":  # a refused checkout names its (FAILED) order too: settled all the same
                body = response.json()
                order_id = (body.get("data") or {}).get("order_id") or ((body.get("error") or {}).get("details") or {}).get("order_id")
                if order_id:
                    orders[order_id] = (_owner(to_check_out, order_id), "PENDING_PAYMENT" if status in (201, 202) else None)
        for (api, order), status in zip(to_cancel, status_of[3:5], strict=True):
            orders[order["order_id"]] = (api, "CANCELLED" if status == 200 else None)
        orders[to_pay[1]["order_id"]] = (to_pay[0], "CONFIRMED" if status_of[5] == 200 else None)
        orders[ship_order["order_id"]] = (ship_api, "SHIPPED" if status_of[6] == 200 else None)
        orders[cancel_order["order_id"]] = (cancel_api, "CANCELLED" if status_of[7] == 200 else None)
        orders[race_order["order_id"]] = (race_api, "SHIPPED" if race["race-ship"] == 200
                                          else "CANCELLED" if race["race-cancel"] == 200 else None)
        final: dict[str, str] = {}
        for order_id, (api, expected) in orders.items():
            order = wait_for_order(api, order_id, (expected,) if expected else SETTLED, timeout=60)
            final[order_id] = order["status"]
        assert "PROCESSING" not in final.values(), final

        # AND the stock settles to exactly what the orders say, every invariant holding per bucket
        sold = sum(1 for status in final.values() if status in ("CONFIRMED", "SHIPPED"))
        live_orders = {f"order:{order_id}" for order_id, status in final.items() if status == "PENDING_PAYMENT"}

        def settled_stock() -> bool:
            states = [audit(local_stack, sku) for sku in (hot, single)]
            return all(
                state.on_hand == 40 - sold and not state.problems()
                and {holder for holder in state.live_holds if holder.startswith("order:")} == live_orders
                for state in states
            )

        assert wait_until(settled_stock, timeout=60), [audit(local_stack, sku) for sku in (hot, single)]
        conflicts = meter.conflicts
    # AND the rush really met DynamoDB's conflicts (which no one saw as a 500)
    assert conflicts > 0, outcomes
    print("answers:", sorted(Counter(outcomes).items()), "final:", sorted(Counter(final.values()).items()),
          "conflicts:", conflicts)  # shown with -rP: what the rush met


def _owner(apis: list[Any], order_id: str) -> Any:
    for api in apis:
        if api.get(f"/api/v1/orders/{order_id}").status_code == 200:
            return api
    raise AssertionError(f"no shopper owns {order_id}")


def test_a_checkout_retried_at_once_with_one_key_while_metered_answers_one_order_never_a_500(local_stack, stocked_product):
    import time
    import uuid

    # GIVEN a shopper with a cart, and a client that keeps resending one checkout (one key) while
    # it is told "in progress" or 503 (retryable): its claims keep the key's item busy while the first one answers
    sku = stocked_product([10])["skus"][0]["sku_id"]
    shopper = register(local_stack)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    key = uuid.uuid4().hex

    def resend(_: int) -> list[tuple[int, str | None]]:
        seen = []
        for _ in range(40):
            status, code = _answer(response := checkout(shopper, key))
            seen.append((status, code, (response.json().get("data") or {}).get("order_id")))
            if code not in ("IDEMPOTENCY_IN_PROGRESS", "SERVICE_UNAVAILABLE"):  # both say: send it again
                break
            # ... after a pause, as a client backs off (a retry only reads the key while it is
            # taken: were each retry a claim, a transaction on the key's item, six of them would
            # keep it in flight and the first request could never store its answer)
            time.sleep(0.3 if code == "IDEMPOTENCY_IN_PROGRESS" else 0.5)
        return seen

    # WHEN 6 of them go at once with per-item write capacity metered (a transaction in flight 0.2 s)
    with metered(100, transaction_ms=200):
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = [answer for seen in pool.map(resend, range(6)) for answer in seen]

    # THEN every answer is the order, "in progress" or a clear 503: never a 500
    assert {(status, code) for status, code, _ in answers} <= {
        (201, None), (202, None), (409, "IDEMPOTENCY_IN_PROGRESS"), (503, "SERVICE_UNAVAILABLE"),
    }, answers
    # AND they all name one order, which the shopper has exactly once, payable
    order_ids = {order_id for status, _, order_id in answers if status in (201, 202)}
    assert len(order_ids) == 1, (len(answers), Counter(answers))
    assert [o["order_id"] for o in shopper.get("/api/v1/orders").json()["data"]["items"]] == list(order_ids)
    assert payable(shopper, checkout(shopper, key))["order_id"] in order_ids
    # AND the resending really overlapped the first request (it was told "in progress")
    assert (409, "IDEMPOTENCY_IN_PROGRESS") in {(status, code) for status, code, _ in answers}, answers
