"""Fault: a stream consumer crashes in the middle of a batch. The failed record (and, as Lambda
does, the ones after it) is delivered again, the records before it are not, and the read model
converges; the order settler crashing on a cancelled order still settles it on the retry.

(tests/local/test_streams.py proves the poller's retry semantics with a toy function; these run
the real consumers of the stack.)"""

from __future__ import annotations

import sys

from functions.orders import settlement
from tests.checkout.conftest import bought, checkout, pay, stock, wait_for_order, wait_until  # noqa: F401 - bought: a fixture
from tests.faults.conftest import (
    availability_problems,
    order_ends_clean,
    patch_handler_global,
    queue_depth,
    queue_url,
    search_problems,
    stock_problems,
)

PROJECTOR = "functions.inventory.consumers.project_availability.handler"
STOCK_SYNC = "functions.search.consumers.stock_sync.handler"


def _crashing_once_on(real, skus: list[str], poison: str, deliveries: list[str], what: str):
    """`real` (a per-record translation of a consumer), recording which of `skus` it is handed,
    that raises the first time it is handed `poison`'s record."""
    crashed = []

    def translate(record, *rest):
        sku = record["dynamodb"]["Keys"]["pk"]["S"].removeprefix("SKU#")
        if sku in skus:
            deliveries.append(sku)
            if sku == poison and not crashed:
                crashed.append(record["dynamodb"]["SequenceNumber"])
                raise RuntimeError(f"injected: the {what} crashed on this record")
        return real(record, *rest)

    return translate


def test_stock_consumers_crashing_on_one_record_of_a_batch_redeliver_from_it_and_converge(
    monkeypatch, local_stack, seller, stocked_product, streams
):
    from functions.inventory.consumers import project_availability
    from functions.search.consumers import stock_sync

    product = stocked_product([5, 5, 5])
    skus = [sku["sku_id"] for sku in product["skus"]]
    streams.drain()
    parked = queue_depth(local_stack, queue_url(local_stack, "SearchStockSyncFailureQueue"))
    # GIVEN the availability projector and the search stock sync each crash on the middle SKU's
    # record the first time they are handed it
    projected, synced = [], []
    patch_handler_global(monkeypatch, local_stack, PROJECTOR, "to_change",
                         _crashing_once_on(project_availability.to_change, skus, skus[1], projected, "projector"))
    patch_handler_global(monkeypatch, local_stack, STOCK_SYNC, "_stock_change",
                         _crashing_once_on(stock_sync._stock_change, skus, skus[1], synced, "stock sync"))
    # WHEN the three SKUs' stock changes and the changes are delivered in one batch
    for sku, on_hand in zip(skus, (7, 8, 9), strict=True):
        assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": on_hand}).status_code == 200
    streams.poll()
    # THEN the stock sync (limited retries: retried at once) was handed the batch, then the
    # failed record and the one after it again, never the one before; search has all three
    assert synced == [skus[0], skus[1], skus[2], skus[1], skus[2]]
    assert search_problems(local_stack, [product["product_id"]]) == []
    # AND the projector (unlimited retries: once per poll) applied the record before the crash
    # and stopped there: the failed record and the one after it wait for the next delivery (a
    # later change never lands before an earlier one)
    assert projected == [skus[0], skus[1]]
    assert [problem.split(":")[0] for problem in availability_problems(local_stack, skus)] == skus[1:]
    # WHEN the next delivery comes
    streams.poll()
    # THEN it starts from the failed record, and the cache agrees with the table
    assert projected == [skus[0], skus[1], skus[1], skus[2]]
    assert availability_problems(local_stack, skus) == []
    # AND nothing was parked, and the stock invariants hold
    assert queue_depth(local_stack, queue_url(local_stack, "SearchStockSyncFailureQueue")) == parked
    assert stock_problems(local_stack, skus) == []


def test_the_order_settler_crashing_on_a_cancelled_order_settles_it_on_the_retry(
    monkeypatch, local_stack, shopper, seller, stocked_product
):
    # GIVEN a paid, CONFIRMED order of 3 (stock sold)
    sku = stocked_product([10])["skus"][0]["sku_id"]
    before = stock(seller, sku)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 3}).status_code in (200, 201)
    created = checkout(shopper)
    assert created.status_code == 201, created.text
    order_id = created.json()["data"]["order_id"]
    pay(created.json()["data"]["payment"]["payment_url"])
    wait_for_order(shopper, order_id, ("CONFIRMED",))
    assert order_ends_clean(local_stack, shopper, order_id, {sku: before}, seller) == []
    # AND settling it crashes: in the cancel handler always (it dies right after cancelling), in
    # the settler (the orders stream consumer) on its first delivery
    real, callers = settlement.settle, []

    def settle(target: str):
        if target == order_id:
            caller = sys._getframe(1).f_globals.get("__name__")
            callers.append(caller)
            if caller == "functions.orders.handlers.cancel_order" or callers.count(caller) == 1:
                raise RuntimeError(f"injected: {caller} crashed while settling")
        return real(target)

    monkeypatch.setattr(settlement, "settle", settle)
    # WHEN the buyer cancels
    cancelled = shopper.request("PUT", f"/api/v1/orders/{order_id}/cancel")
    # THEN the answer is an error, but the order is CANCELLED; and the settler's retry settles it:
    # the stock is back to before the checkout, the money refunded
    assert cancelled.status_code >= 500, cancelled.text
    assert wait_for_order(shopper, order_id, ("CANCELLED",))["reason"] == "CANCELLED_BY_CUSTOMER"
    assert order_ends_clean(local_stack, shopper, order_id, {sku: before}, seller) == []
    assert callers == ["functions.orders.handlers.cancel_order", "functions.orders.consumers.settle_orders", "functions.orders.consumers.settle_orders"]
    payment = lambda: shopper.get(f"/api/v1/payments/{created.json()['data']['payment']['payment_id']}").json()["data"]  # noqa: E731
    assert wait_until(lambda: payment()["status"] == "refunded"), payment()  # the refund follows the restock
    assert stock_problems(local_stack, [sku]) == []


def test_the_review_withdrawal_crashing_once_hides_the_review_on_the_retry_exactly_once(
    monkeypatch, local_stack, shopper, anonymous, bought  # noqa: F811 - the checkout fixture imported above
):
    from functions.reviews import reviews

    # GIVEN a paid order and its buyer's 3-star review
    order, _ = bought()
    product_id = order["items"][0]["product_id"]
    assert shopper.post(f"/api/v1/products/{product_id}/reviews", json={"rating": 3, "title": "Meh"}).status_code == 201
    # AND the review-withdrawal consumer crashes on its first delivery of this order's purchase removal
    real, calls = reviews.withdraw_for_purchase, []

    def withdraw(product: str, user: str, order_id: str) -> str:
        if order_id == order["order_id"]:
            calls.append(order_id)
            if len(calls) == 1:
                raise RuntimeError("injected: the review withdrawal crashed")
        return real(product, user, order_id)

    patch_handler_global(monkeypatch, local_stack, "functions.reviews.consumers.withdraw_reviews.handler", "withdraw_for_purchase", withdraw)
    # WHEN the buyer cancels
    assert shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel").status_code == 200
    # THEN the retry hides the review and takes its rating out, once
    def rating():
        return anonymous.get(f"/api/v1/products/{product_id}").json()["data"]["rating"]

    assert wait_until(lambda: rating()["count"] == 0, timeout=30), (rating(), calls)
    assert anonymous.get(f"/api/v1/products/{product_id}/reviews").json()["data"]["items"] == []
    assert len(calls) >= 2 and rating() == {"average": None, "count": 0}
    assert queue_depth(local_stack, queue_url(local_stack, "ReviewWithdrawalsFailureQueue")) == 0
