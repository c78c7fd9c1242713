"""Fault: the catalog table is slow (answers after its timeout budget) or failing (5xx) while
shoppers price their carts and check out (seed 002's checkout mitigations; ADR 0027).

The fault is injected in the session's moto server, for the catalog table's requests about one
product only, so the SDK's real timeouts and retries run (shared/aws.py, at the production budget:
SDK_TIMEOUT_SCALE=1 for these tests). What must hold:

- the cart answers at once, with the price its line was added at, flagged `price_may_have_changed`;
- checkout answers 503 CATALOG_UNAVAILABLE with Retry-After well within POST /orders' wait (a 202
  would mean it was not decided in time), the order FAILED with nothing held or charged, and the
  cart and its holds as they were;
- after 5 failures in a row the breaker opens: the catalog is not even asked;
- once the catalog is back, a retry with the SAME Idempotency-Key checks out at verified prices.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.catalog import prices
from functions.catalog.prices import FAILURES_TO_OPEN
from functions.orders.checkout import WAIT_FOR_PAYMENT_SECONDS
from shared.aws import DYNAMODB
from tests.checkout.conftest import checkout, payable, stock, wait_for_order
from tests.faults.conftest import _environment, order_ends_clean, wait_until

SLOWER_THAN_THE_BUDGET_SECONDS = 3 * DYNAMODB.read_seconds * DYNAMODB.attempts
# One catalog read at its worst: every attempt times out (connect is instant here: moto is up).
CATALOG_READ_BUDGET_SECONDS = DYNAMODB.attempts * DYNAMODB.read_seconds


@dataclass
class CatalogFault:
    """What the moto server does with the catalog table's requests that mention `needle`."""

    needle: str = ""
    mode: str = ""  # "" (healthy), "slow", "failing"
    calls: int = 0

    def slow(self, needle: str) -> None:
        self.needle, self.mode = needle, "slow"

    def failing(self, needle: str) -> None:
        self.needle, self.mode = needle, "failing"

    def heal(self) -> None:
        self.mode = ""


def _forget_connections() -> None:
    """The SDK clients are built once per execution environment: rebuild them with the budget
    (and the transport) now set."""
    from local.stack import _forget_sdk_clients

    _forget_sdk_clients()


@pytest.fixture
def catalog_fault(local_stack) -> Iterator[CatalogFault]:
    from moto.dynamodb.responses import DynamoHandler

    fault = CatalogFault()
    table = os.environ["CATALOG_TABLE_NAME"]
    original = DynamoHandler.call_action

    def faulty(handler: Any) -> Any:
        body = handler.body.decode("utf-8", "replace") if isinstance(handler.body, bytes) else str(handler.body or "")
        if fault.mode and table in body and fault.needle in body:
            fault.calls += 1
            if fault.mode == "slow":
                time.sleep(SLOWER_THAN_THE_BUDGET_SECONDS)  # the client has given up by now
            else:
                error = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected: the catalog is failing"}
                return 500, {"status": 500, "x-amzn-ErrorType": "InternalServerError"}, json.dumps(error)
        return original(handler)

    DynamoHandler.call_action = faulty  # type: ignore[method-assign]
    prices.reset()
    try:
        # Over moto's HTTP socket, not the in-process transport (ADR 0029): an SDK read timeout
        # needs a real connection to give up on.
        with _environment("SDK_TIMEOUT_SCALE", "1"), _environment("PRICE_BREAKER_OPEN_SECONDS", "1"), \
                _environment("AWS_ENDPOINT_URL", local_stack.moto.endpoint):
            _forget_connections()
            yield fault
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
        prices.reset()
        _forget_connections()  # back to the local stack's scaled budget


def _in_cart(shopper, sku: str, quantity: int) -> None:
    added = shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity})
    assert added.status_code in (200, 201), added.text


def _timed(call) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_a_slow_catalog_during_checkout_is_answered_fast_and_a_retry_with_the_same_key_checks_out_once_it_is_back(
    local_stack, shopper, seller, stocked_product, catalog_fault
):
    # GIVEN a cart holding 2 of a SKU priced 1500, added while the catalog was healthy
    product = stocked_product([10], price=1500)
    sku = product["skus"][0]["sku_id"]
    _in_cart(shopper, sku, 2)
    before = stock(seller, sku)
    # WHEN the catalog table answers requests about the product only after 3x its read budget
    catalog_fault.slow(product["product_id"].removeprefix("prd_"))
    # THEN the cart answers, with the price the line was added at, flagged
    cart, cart_seconds = _timed(lambda: shopper.get("/api/v1/cart"))
    assert cart.status_code == 200, cart.text
    data = cart.json()["data"]
    assert data["price_may_have_changed"] is True
    [line] = data["items"]
    assert (line["sku_id"], line["unit_price"], line["price_may_have_changed"], line["reserved_until"] is not None) == (sku, 1500, True, True)
    assert catalog_fault.calls >= 1  # the catalog was asked, and given up on
    # AND checkout answers 503 CATALOG_UNAVAILABLE with Retry-After, decided within POST /orders' wait
    key = f"catalog-slow-{product['product_id']}"
    refused, checkout_seconds = _timed(lambda: checkout(shopper, key=key))
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "CATALOG_UNAVAILABLE"
    assert int(refused.headers["Retry-After"]) > 0
    assert checkout_seconds < WAIT_FOR_PAYMENT_SECONDS
    print(f"\nslow catalog: GET /cart {cart_seconds:.2f} s, POST /orders -> 503 {checkout_seconds:.2f} s "
          f"(catalog read budget {CATALOG_READ_BUDGET_SECONDS:.1f} s)")
    # WHEN the catalog is back (the invariants below read the seller's stock: ownership asks the catalog)
    catalog_fault.heal()
    # THEN nothing was lost: the order FAILED with nothing held or charged, the cart and its hold as they were
    failed_order = refused.json()["error"]["details"]["order_id"]
    assert wait_for_order(shopper, failed_order, ("FAILED",))["reason"] == "CATALOG_UNAVAILABLE"
    assert order_ends_clean(local_stack, shopper, failed_order, {sku: before}, seller) == []
    lines = shopper.get("/api/v1/cart").json()["data"]["items"]
    assert [(item["sku_id"], item["quantity"], item["reserved_until"] is not None) for item in lines] == [(sku, 2, True)]
    # THEN the same key checks out afresh, at the verified price
    order = payable(shopper, checkout(shopper, key=key))
    assert order["order_id"] != failed_order
    assert [(item["sku_id"], item["quantity"], item["unit_price"]) for item in order["items"]] == [(sku, 2, 1500)]
    # AND a retry of it now replays that answer (the key is spent on the order that went through)
    assert checkout(shopper, key=key).json()["data"]["order_id"] == order["order_id"]
    cart = shopper.get("/api/v1/cart").json()["data"]
    assert cart["price_may_have_changed"] is False


def test_a_failing_catalog_opens_the_breaker_then_the_cart_answers_without_asking_it_and_an_unknown_sku_is_a_clear_503(
    local_stack, shopper, seller, stocked_product, catalog_fault
):
    # GIVEN a cart with one SKU of a two-SKU product
    product = stocked_product([10, 10], price=1500)
    known, unknown = (sku["sku_id"] for sku in product["skus"])
    _in_cart(shopper, known, 1)
    before = stock(seller, unknown)
    # WHEN the catalog answers 500 to every request about the product
    catalog_fault.failing(product["product_id"].removeprefix("prd_"))
    # THEN each of the first FAILURES_TO_OPEN carts is answered, flagged, after asking the catalog
    for _ in range(FAILURES_TO_OPEN):
        cart = shopper.get("/api/v1/cart")
        assert cart.status_code == 200, cart.text
        assert cart.json()["data"]["items"][0]["price_may_have_changed"] is True
    asked = catalog_fault.calls
    assert asked >= FAILURES_TO_OPEN
    # AND then the breaker is open: the cart is answered without the catalog being asked at all
    cart = shopper.get("/api/v1/cart")
    assert cart.status_code == 200 and cart.json()["data"]["price_may_have_changed"] is True
    assert catalog_fault.calls == asked
    # AND adding a SKU whose price was never seen here is a clear 503, changing nothing
    added = shopper.post("/api/v1/cart/items", json={"sku_id": unknown, "quantity": 1})
    assert added.status_code == 503, added.text
    assert added.json()["error"]["code"] == "CATALOG_UNAVAILABLE"
    assert [item["sku_id"] for item in shopper.get("/api/v1/cart").json()["data"]["items"]] == [known]
    # WHEN the catalog heals  THEN after the open second one trial read closes the breaker
    catalog_fault.heal()
    assert wait_until(lambda: shopper.get("/api/v1/cart").json()["data"]["price_may_have_changed"] is False, timeout=5)
    # AND the refused add held no stock
    assert stock(seller, unknown) == before
