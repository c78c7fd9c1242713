"""Fault: the payment provider times out when the checkout saga creates the payment intent
(CreatePaymentIntent: 3 retries, 1 s base, back-off 2, full jitter; infra/checkout.py). A few
timeouts are ridden out by the step's retries; a provider that never answers ends the checkout
undone: the order CANCELLED, its stock back, no money taken."""

from __future__ import annotations

from collections import Counter

from functions.payments.providers.sandbox import SandboxProvider
from functions.payments.store import payment_id_for
from tests.checkout.conftest import checkout, pay, stock, wait_for_order, wait_until
from tests.faults.conftest import order_ends_clean


def _provider_times_out(monkeypatch, times: int | None) -> Counter:
    """The sandbox provider's create_intent raises TimeoutError on its first `times` calls for an
    order (None: always); returns the calls per order."""
    calls: Counter = Counter()
    real = SandboxProvider.create_intent

    def create_intent(self, request):
        calls[request.order_id] += 1
        if times is None or calls[request.order_id] <= times:
            raise TimeoutError(f"injected: the payment provider did not answer (call {calls[request.order_id]})")
        return real(self, request)

    monkeypatch.setattr(SandboxProvider, "create_intent", create_intent)
    return calls


def _checkout(shopper, seller, stocked_product, quantity: int = 2) -> tuple[str, str, dict]:
    sku = stocked_product([10])["skus"][0]["sku_id"]
    before = stock(seller, sku)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity}).status_code in (200, 201)
    created = checkout(shopper)
    assert created.status_code in (201, 202), created.text  # 202: not payable within POST's 5 s
    return created.json()["data"]["order_id"], sku, before


def test_a_provider_timing_out_twice_is_ridden_out_by_the_steps_retries(monkeypatch, local_stack, shopper, seller, stocked_product):
    # GIVEN a payment provider whose first two create-intent calls time out
    calls = _provider_times_out(monkeypatch, times=2)
    # WHEN the shopper checks out
    order_id, sku, before = _checkout(shopper, seller, stocked_product)
    # THEN the step's retries get the intent on the third call: the order becomes payable
    payment_url = wait_until(lambda: ((shopper.get(f"/api/v1/orders/{order_id}").json()["data"]["payment"] or {}).get("payment_url")),
                             timeout=20)
    assert payment_url and calls[order_id] == 3
    # WHEN the buyer pays  THEN the order is CONFIRMED, the stock sold exactly once, the money kept
    pay(payment_url)
    assert wait_for_order(shopper, order_id, ("CONFIRMED",))["reason"] is None
    assert order_ends_clean(local_stack, shopper, order_id, {sku: before}, seller) == []


def test_a_provider_that_never_answers_cancels_the_order_and_releases_the_stock(monkeypatch, local_stack, shopper, seller, stocked_product):
    # GIVEN a payment provider that never answers
    calls = _provider_times_out(monkeypatch, times=None)
    # WHEN the shopper checks out
    order_id, sku, before = _checkout(shopper, seller, stocked_product)
    # THEN after the first call and its 3 retries the saga compensates: the order is CANCELLED,
    # the stock is back, no hold is left, the payment record is cancelled (a late capture would be
    # refunded), and nothing was ever payable
    cancelled = wait_for_order(shopper, order_id, ("CANCELLED", "FAILED"), timeout=30)
    assert calls[order_id] == 4
    assert cancelled["reason"] == "CHECKOUT_ERROR" and cancelled["payment"] is None
    assert order_ends_clean(local_stack, shopper, order_id, {sku: before}, seller) == []
    payment = lambda: shopper.get(f"/api/v1/payments/{payment_id_for(order_id)}").json()["data"]  # noqa: E731
    # RefundIfCaptured is the compensation's last step: CANCELLED and the stock come before it
    assert wait_until(lambda: payment()["status"] == "canceled"), payment()
    # AND the cart keeps the line (unreserved), so the shopper can try again
    lines = shopper.get("/api/v1/cart").json()["data"]["items"]
    assert [(line["sku_id"], line["quantity"], line["reserved_until"]) for line in lines] == [(sku, 2, None)]

