"""Fault: a Lambda task of the checkout saga crashes. A step that crashes every time is
compensated (tests/checkout/test_checkout_failures.py::
test_a_step_that_crashes_mid_saga_is_compensated_and_leaks_nothing); here a step dies once,
AFTER its transaction committed (the at-least-once case: the work is done but Step Functions saw
an error), and its retry must finish the checkout without doing the work twice."""

from __future__ import annotations

from functions.orders import store
from functions.orders.domain import CONFIRMED
from tests.checkout.conftest import checkout, pay, stock, wait_for_order
from tests.faults.conftest import order_ends_clean, wait_until


def test_confirm_order_dying_after_its_transaction_committed_is_retried_and_confirms_once(
    monkeypatch, local_stack, shopper, seller, stocked_product
):
    # GIVEN ConfirmOrder's Lambda dies right after its transaction (order CONFIRMED, the sellers'
    # parts and the buyer's purchases written) committed, the first time for each order
    real, crashed = store.transition, []

    def transition(order_id, to, **kwargs):
        first = to == CONFIRMED and order_id not in crashed
        if first:
            crashed.append(order_id)
        result = real(order_id, to, **kwargs)
        if first:
            raise RuntimeError("injected: ConfirmOrder's Lambda died after its transaction committed")
        return result

    monkeypatch.setattr(store, "transition", transition)
    sku = stocked_product([10])["skus"][0]["sku_id"]
    before = stock(seller, sku)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3}).status_code in (200, 201)
    created = checkout(shopper)
    assert created.status_code == 201, created.text
    order = created.json()["data"]
    # WHEN the buyer pays
    pay(order["payment"]["payment_url"])
    # THEN the step's retry finds the order CONFIRMED and the saga goes on: CONFIRMED once in its
    # history, the stock sold exactly once (committed from the order's holds), the money kept
    confirmed = wait_for_order(shopper, order["order_id"], ("CONFIRMED", "CANCELLED"), timeout=30)
    assert crashed == [order["order_id"]]
    assert confirmed["status"] == "CONFIRMED", confirmed
    assert [entry["status"] for entry in confirmed["history"]].count("CONFIRMED") == 1
    # AND once the saga is through (CommitStock, then ClearCart, after the retry's back-off) the
    # stock is sold exactly once and the cart no longer has the bought line
    assert wait_until(lambda: shopper.get("/api/v1/cart").json()["data"]["items"] == [], timeout=15)
    assert order_ends_clean(local_stack, shopper, order["order_id"], {sku: before}, seller) == []
