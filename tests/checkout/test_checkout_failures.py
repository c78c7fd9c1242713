"""Checkouts that do not end in a sale always end fully undone: stock back, no money kept."""

from __future__ import annotations

import os

import pytest

from tests.checkout.conftest import checkout, pay, payable, stock, wait_for_order, wait_until


def _payment(api, order) -> dict:
    return api.get(f"/api/v1/payments/{order['payment']['payment_id']}").json()["data"]


def _start(shopper, seller, stocked_product, quantity: int = 3) -> tuple[dict, str, dict]:
    sku = stocked_product([10])["skus"][0]["sku_id"]
    before = stock(seller, sku)  # before the cart: what "back to the pre-checkout level" means for the stock
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity}).status_code in (200, 201)
    return payable(shopper, checkout(shopper)), sku, before


def test_a_declined_payment_cancels_the_order_and_releases_the_stock(shopper, seller, stocked_product):
    # GIVEN an order waiting for payment
    order, sku, before = _start(shopper, seller, stocked_product)
    # WHEN the payment is declined
    pay(order["payment"]["payment_url"], "failed")
    # THEN the order is CANCELLED for that reason, the stock is back, and nothing was captured
    cancelled = wait_for_order(shopper, order["order_id"], ("CANCELLED",))
    assert cancelled["reason"] == "PAYMENT_FAILED"
    assert wait_until(lambda: stock(seller, sku) == before), stock(seller, sku)
    assert _payment(shopper, order)["status"] == "failed"
    # AND the cart still has the line (unreserved), so the shopper can try again
    lines = shopper.get("/api/v1/cart").json()["data"]["items"]
    assert [(line["sku_id"], line["quantity"], line["reserved_until"]) for line in lines] == [(sku, 3, None)]


@pytest.fixture
def short_window(monkeypatch):
    # The handlers run in this process: POST /orders reads the window when it starts the saga.
    monkeypatch.setitem(os.environ, "PAYMENT_WINDOW_SECONDS", "2")


def test_an_elapsed_payment_window_cancels_and_a_late_payment_is_refunded(short_window, shopper, seller, stocked_product):
    # GIVEN an order with a 2-second payment window
    order, sku, before = _start(shopper, seller, stocked_product)
    # WHEN the window passes unpaid
    cancelled = wait_for_order(shopper, order["order_id"], ("CANCELLED",), timeout=30)
    # THEN the order is CANCELLED, the stock is back and nothing is captured
    assert cancelled["reason"] == "PAYMENT_WINDOW_ELAPSED"
    assert wait_until(lambda: stock(seller, sku) == before), stock(seller, sku)
    assert wait_until(lambda: _payment(shopper, order)["status"] == "canceled"), _payment(shopper, order)  # RefundIfCaptured is the last step
    # WHEN the buyer pays anyway, after the window
    sent = pay(order["payment"]["payment_url"], "succeeded")
    # THEN the webhook is accepted, the money is refunded at once, and the order stays CANCELLED
    assert sent["webhook_status"] == 200
    assert wait_until(lambda: _payment(shopper, order)["status"] == "refunded"), _payment(shopper, order)
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["status"] == "CANCELLED"
    assert stock(seller, sku) == before


def test_a_step_that_crashes_mid_saga_is_compensated_and_leaks_nothing(monkeypatch, shopper, seller, stocked_product):
    # GIVEN committing stock crashes every time (a fault injected into the step's code)
    import functions.inventory.api as inventory_orders  # what the saga calls (orders reach inventory through its api)

    def crash(*args, **kwargs):
        raise RuntimeError("injected fault: the inventory call died")

    monkeypatch.setattr(inventory_orders, "commit_order", crash)
    order, sku, before = _start(shopper, seller, stocked_product)
    # WHEN the buyer pays (so the crash comes after the money was taken)
    pay(order["payment"]["payment_url"])
    # THEN after its retries the saga compensates: the order is CANCELLED, the payment refunded,
    # and no stock is left reserved or sold
    cancelled = wait_for_order(shopper, order["order_id"], ("CANCELLED",), timeout=60)
    assert cancelled["reason"] == "CHECKOUT_ERROR"
    assert wait_until(lambda: _payment(shopper, order)["status"] == "refunded"), _payment(shopper, order)
    assert wait_until(lambda: stock(seller, sku) == before), stock(seller, sku)
