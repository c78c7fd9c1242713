"""The checkout saga's decisions (functions/orders/saga.py and its settlement) on in-memory fakes of
the orders table and of the cart, catalog, inventory and payments api modules: what each step and
each compensation decides when the cart changed, stock is lost, the payment fails or the order was
cancelled meanwhile. No moto, no stack, no Step Functions: milliseconds (`make test-unit`).

The fake table keeps the real store's rules (functions/orders/store.py): statuses move only along
domain.TRANSITIONS, a move to the status the order is already in is (order, False), any other
refused move raises InvalidState, a cancellation needs no seller to have shipped.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from functions.orders import saga, settlement
from functions.orders.domain import (
    CANCELLED,
    CONFIRMED,
    FAILED,
    PENDING_PAYMENT,
    PROCESSING,
    SHIPPED,
    Line,
    Order,
    sources_of,
)
from functions.orders.ports import Ports
from shared.errors import InvalidState, NotFound, OutOfStock

ORDER_ID = "ord_01KAXYZ0000000000000000001"
SKU, OTHER_SKU = "sku_01KAXYZ0000000000000000001", "sku_01KAXYZ0000000000000000002"


# -- fakes ----------------------------------------------------------------------------------------


class FakeOrders:
    """functions/orders/store.py's saga-facing functions, in memory (ports.OrderStore)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.transactions: list[list[Any]] = []  # the `also` items written with each move

    def add(self, status: str = PROCESSING, **fields: Any) -> Order:
        order = Order(order_id=ORDER_ID, user_id="user-1", cart_id="cart-1", status=status, version=1,
                      created_at="2026-11-22T10:00:00.000Z", updated_at="2026-11-22T10:00:00.000Z", **fields)
        self.orders[order.order_id] = order
        return copy.deepcopy(order)

    def get(self, order_id: str) -> Order | None:
        order = self.orders.get(order_id)
        return copy.deepcopy(order) if order else None

    def require(self, order_id: str) -> Order:
        order = self.get(order_id)
        if order is None:
            raise LookupError(order_id)
        return order

    def set_fields(self, order_id: str, fields: dict[str, Any], status: str) -> Order:
        current = self.orders[order_id]
        if current.status != status:
            raise InvalidState(f"The order is {current.status}.", {"order_id": order_id})
        if "items" in fields:
            fields = {**fields, "items": [Line(**{k: v for k, v in line.items() if k != "line_total"}) for line in fields["items"]]}
        fields.pop("seller_ids", None)  # derived from the lines in the model
        self.orders[order_id] = replace(current, version=current.version + 1, **fields)
        return self.require(order_id)

    def transition(self, order_id: str, to: str, *, reason: str | None = None, fields: dict[str, Any] | None = None,
                   condition: str | None = None, values: dict[str, Any] | None = None,
                   also: list[dict[str, Any]] | None = None) -> tuple[Order, bool]:
        current = self.orders.get(order_id)
        if current is None:
            raise NotFound("No such order.")
        allowed = current.status in sources_of(to) and (condition is None or not current.shipped_sellers)
        if not allowed:
            if current.status == to:
                return self.require(order_id), False
            raise InvalidState(f"The order is {current.status}; it cannot become {to}.", {"order_id": order_id})
        entry = {"status": to, **({"reason": reason} if reason else {})}
        self.orders[order_id] = replace(current, status=to, version=current.version + 1, history=[*current.history, entry],
                                        reason=reason or current.reason, **(fields or {}))
        self.transactions.append(list(also or []))
        return self.require(order_id), True

    def cancel(self, order: Order, reason: str) -> tuple[Order, bool]:
        return self.transition(order.order_id, CANCELLED, reason=reason, condition="size(shipped_sellers) = :zero")

    def confirmation_writes(self, order: Order) -> list[dict[str, Any]]:
        return [{"Put": f"seller part and purchases of {order.order_id}"}]

    def status_check(self, order_id: str, status: str) -> dict[str, Any]:
        return {"ConditionCheck": (order_id, status)}


@dataclass(frozen=True)
class CartRef:
    cart_id: str
    owner: str


@dataclass
class CartLine:
    quantity: int
    added_price: int


@dataclass
class Cart:
    ref: CartRef
    lines: dict[str, CartLine]


class ConcurrentChange(Exception):
    """inventory.api.ConcurrentChange: the transaction's other items failed their conditions."""


class FakeCart:
    """functions/cart/api.py as the saga uses it."""

    CartRef = CartRef

    def __init__(self, lines: dict[str, CartLine] | None = None, holder: str | None = None) -> None:
        self.lines = lines if lines is not None else {SKU: CartLine(2, 1_500)}
        self.holder = holder
        self.loads = 0
        self.accepted: list[dict[str, int]] = []
        self.released: list[tuple[str, str]] = []
        self.removed: list[dict[str, int]] = []

    def load_cart(self, ref: CartRef) -> Cart:
        self.loads += 1
        return Cart(ref, dict(self.lines))

    def accept_prices(self, ref: CartRef, prices: dict[str, int]) -> None:
        self.accepted.append(prices)

    def checkout_claim_write(self, cart_id: str, order_id: str, expires_at: int) -> dict[str, Any]:
        return {"Put": {"claim": (cart_id, order_id)}}

    def checkout_claim_holder(self, cart_id: str) -> str | None:
        return self.holder

    def release_checkout_claim(self, cart_id: str, order_id: str) -> None:
        self.released.append((cart_id, order_id))

    def remove_ordered(self, ref: CartRef, order_id: str, ordered: dict[str, int]) -> None:
        self.removed.append(ordered)


@dataclass
class SkuInfo:
    sku_id: str
    product_id: str
    seller_id: str
    title: str
    options: dict[str, str]
    price: int
    currency: str


class CatalogUnavailable(Exception):
    def __init__(self) -> None:
        super().__init__("down")
        self.code, self.message, self.details = "CATALOG_UNAVAILABLE", "Prices cannot be verified right now.", {"retry_after_seconds": 10}


class FakeCatalog:
    """functions/catalog/api.py as the saga uses it: verified prices, or CatalogUnavailable."""

    CatalogUnavailable = CatalogUnavailable

    def __init__(self, prices: dict[str, tuple[int, str]] | None = None, down: bool = False) -> None:
        self.prices = prices if prices is not None else {SKU: (1_500, "USD")}
        self.down = down

    def verified_prices(self, sku_ids: list[str], consistent: bool = False) -> dict[str, SkuInfo]:
        assert consistent, "checkout charges only prices read consistently"
        if self.down:
            raise CatalogUnavailable()
        return {sku: SkuInfo(sku, f"prd_{sku[-1]}", "seller-1", "A thing", {}, *self.prices[sku]) for sku in sku_ids if sku in self.prices}


@dataclass(frozen=True)
class OrderLine:
    sku_id: str
    quantity: int


class StockLost(Exception):
    """inventory's StockLost: a hold of the order ended some other way before it was committed."""


class FakeInventory:
    """functions/inventory/api.py as the saga and the settlement use it; `refuse` makes the next call raise."""

    OrderLine = OrderLine
    ConcurrentChange = ConcurrentChange

    def __init__(self) -> None:
        self.refuse: dict[str, Exception] = {}
        self.held: list[tuple[list[OrderLine], list[Any]]] = []
        self.committed: list[tuple[list[OrderLine], Any]] = []
        self.returned: list[list[OrderLine]] = []

    def hold_for_order(self, cart_id: str, order_id: str, lines: list[OrderLine], expires_at: int, also: list[Any]) -> dict[str, str]:
        if "hold" in self.refuse:
            raise self.refuse["hold"]
        self.held.append((lines, also))
        return {line.sku_id: f"hold-{line.sku_id}" for line in lines}

    def commit_order(self, order_id: str, lines: list[OrderLine], hold_ids: dict[str, str], order_check: Any) -> None:
        if "commit" in self.refuse:
            raise self.refuse["commit"]
        self.committed.append((lines, order_check))

    def return_order_stock(self, order_id: str, lines: list[OrderLine], hold_ids: dict[str, str]) -> None:
        self.returned.append(lines)


@dataclass
class Payment:
    payment_id: str
    provider: str = "sandbox"
    status: str = "pending"
    task_token: str | None = None


class FakePayments:
    """functions/payments/api.py as the saga and the settlement use it. Giving a payment up
    cancels it if pending, refunds it (once) if it succeeded: what payments' refund_if_captured does."""

    def __init__(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.opened: list[tuple[str, int, str]] = []
        self.refunds = 0

    @staticmethod
    def payment_id_for(order_id: str) -> str:
        return "pay_" + order_id.removeprefix("ord_")

    def open_payment(self, order_id: str, user_id: str, amount: int, currency: str) -> Payment:
        self.opened.append((order_id, amount, currency))
        return self.payments.setdefault(self.payment_id_for(order_id), Payment(self.payment_id_for(order_id)))

    def hand_task_token(self, payment_id: str, task_token: str) -> tuple[Payment, bool]:
        payment = self.payments[payment_id]
        payment.task_token = task_token
        return payment, payment.status in ("succeeded", "failed")

    def get_payment(self, payment_id: str) -> Payment | None:
        return self.payments.get(payment_id)

    def refund_if_captured(self, payment_id: str) -> Payment | None:
        payment = self.payments.get(payment_id)
        if payment is None:
            return None
        if payment.status == "pending":
            payment.status = "canceled"
        elif payment.status == "succeeded":
            payment.status = "refunded"
            self.refunds += 1
        return payment


@dataclass
class FakeStepFunctions:
    failures: list[tuple[str, str]] = field(default_factory=list)

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> None:  # noqa: N803 - boto3's names
        self.failures.append((taskToken, error))


@dataclass
class World:
    orders: FakeOrders
    cart: FakeCart
    catalog: FakeCatalog
    inventory: FakeInventory
    payments: FakePayments
    sfn: FakeStepFunctions
    ports: Ports
    compensations: list[str]


@pytest.fixture
def world(monkeypatch) -> World:
    from shared import metrics

    compensations: list[str] = []
    monkeypatch.setattr(metrics, "count", lambda name, dimension, value, amount=1: compensations.append(value))
    orders, cart, catalog, inventory, payments, sfn = FakeOrders(), FakeCart(), FakeCatalog(), FakeInventory(), FakePayments(), FakeStepFunctions()
    ports = Ports(store=orders, cart=cart, catalog=catalog, inventory=inventory, payments=payments, step_functions=sfn)
    return World(orders, cart, catalog, inventory, payments, sfn, ports, compensations)


def line(sku: str = SKU, quantity: int = 2, price: int = 1_500) -> Line:
    return Line(sku_id=sku, product_id=f"prd_{sku[-1]}", seller_id="seller-1", title="A thing", options={}, quantity=quantity,
                unit_price=price, currency="USD")


def refusal(exc: pytest.ExceptionInfo) -> dict[str, Any]:
    """The {code, message, details} a CheckoutRejected carries (what Step Functions passes on)."""
    return json.loads(str(exc.value))


def step(name: str, world: World, **event: Any) -> dict[str, Any]:
    return getattr(saga, name)({"order_id": ORDER_ID, "payment_window_seconds": 900, **event}, world.ports)


# -- ValidateCart ---------------------------------------------------------------------------------


def test_the_cart_is_snapshot_at_the_catalogs_verified_prices_once(world):
    world.orders.add()
    step("validate_cart", world)
    order = world.orders.get(ORDER_ID)
    assert [(item.sku_id, item.quantity, item.unit_price) for item in order.items] == [(SKU, 2, 1_500)]
    assert (order.total, order.currency, order.status) == (3_000, "USD", PROCESSING)
    # a retry finds the snapshot taken and reads the cart no more
    step("validate_cart", world)
    assert world.cart.loads == 1


@pytest.mark.parametrize(("cart_lines", "prices", "down", "code"), [
    ({}, {SKU: (1_500, "USD")}, False, "CART_EMPTY"),
    ({SKU: CartLine(2, 1_500)}, {}, False, "SKU_UNAVAILABLE"),
    ({SKU: CartLine(2, 1_500), OTHER_SKU: CartLine(1, 900)}, {SKU: (1_500, "USD"), OTHER_SKU: (900, "EUR")}, False, "MIXED_CURRENCIES"),
    ({SKU: CartLine(2, 1_500)}, {SKU: (1_500, "USD")}, True, "CATALOG_UNAVAILABLE"),
])
def test_a_cart_that_cannot_be_checked_out_as_it_is_fails_the_checkout_with_its_reason(world, cart_lines, prices, down, code):
    world.orders.add()
    world.cart.lines, world.catalog.prices, world.catalog.down = cart_lines, prices, down
    with pytest.raises(saga.CheckoutRejected) as rejected:
        step("validate_cart", world)
    assert refusal(rejected)["code"] == code
    assert world.orders.get(ORDER_ID).items == []  # nothing snapshot


def test_a_changed_price_fails_the_checkout_with_the_new_prices_which_the_cart_takes_on(world):
    world.orders.add()
    world.catalog.prices = {SKU: (1_700, "USD")}
    with pytest.raises(saga.CheckoutRejected) as rejected:
        step("validate_cart", world)
    assert refusal(rejected)["code"] == "PRICE_CHANGED"
    assert refusal(rejected)["details"]["items"] == [{"sku_id": SKU, "old_price": 1_500, "new_price": 1_700, "currency": "USD"}]
    assert world.cart.accepted == [{SKU: 1_700}] and world.orders.get(ORDER_ID).items == []


# -- ReserveStock ---------------------------------------------------------------------------------


def test_stock_is_held_for_the_order_with_the_carts_checkout_claim_in_the_same_transaction(world):
    world.orders.add(items=[line()])
    step("reserve_stock", world)
    [(lines, also)] = world.inventory.held
    assert lines == [OrderLine(SKU, 2)] and also == [{"Put": {"claim": ("cart-1", ORDER_ID)}}]
    assert world.orders.get(ORDER_ID).hold_ids == {SKU: f"hold-{SKU}"}


def test_no_stock_fails_the_checkout_out_of_stock(world):
    world.orders.add(items=[line()])
    world.inventory.refuse["hold"] = OutOfStock("Not enough stock.", {"sku_id": SKU, "available": 1})
    with pytest.raises(saga.CheckoutRejected) as rejected:
        step("reserve_stock", world)
    assert refusal(rejected) == {"code": "OUT_OF_STOCK", "message": "Not enough stock.", "details": {"sku_id": SKU, "available": 1}}
    assert world.orders.get(ORDER_ID).hold_ids == {}


def test_a_cart_another_order_checked_out_is_refused_never_reserved_again(world):
    world.orders.add(items=[line()])
    world.inventory.refuse["hold"] = ConcurrentChange()
    world.cart.holder = "ord_waiting"
    with pytest.raises(saga.CheckoutRejected) as rejected:
        step("reserve_stock", world)
    assert refusal(rejected)["code"] == "CART_ALREADY_CHECKED_OUT"
    assert refusal(rejected)["details"] == {"pending_order_id": "ord_waiting"}


def test_a_retried_reservation_of_an_order_past_processing_does_nothing(world):
    world.orders.add(status=PENDING_PAYMENT, items=[line()])
    step("reserve_stock", world)
    assert world.inventory.held == []


# -- the payment ----------------------------------------------------------------------------------


def test_an_order_cancelled_before_its_payment_is_made_gets_none(world):
    world.orders.add(status=CANCELLED, items=[line()], total=3_000, currency="USD")
    with pytest.raises(saga.OrderNotPayable):
        step("create_payment_intent", world)
    assert world.payments.opened == []


def test_the_order_keeps_which_payment_it_has_not_its_status(world):
    world.orders.add(status=PENDING_PAYMENT, items=[line()], total=3_000, currency="USD")
    assert step("create_payment_intent", world)["payment_id"] == "pay_01KAXYZ0000000000000000001"
    assert world.payments.opened == [(ORDER_ID, 3_000, "USD")]
    assert world.orders.get(ORDER_ID).payment == {"payment_id": "pay_01KAXYZ0000000000000000001", "provider": "sandbox"}


def test_the_wait_is_answered_at_once_if_the_outcome_came_first(world):
    world.orders.add(status=PENDING_PAYMENT)
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD").status = "succeeded"
    assert step("await_payment", world, task_token="tok-1") == {"answered": "succeeded"}
    assert world.sfn.failures == []


def test_the_wait_of_an_order_cancelled_meanwhile_is_failed_so_the_saga_compensates(world):
    world.orders.add(status=CANCELLED)
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD")
    assert step("await_payment", world, task_token="tok-1") == {"answered": "cancelled"}
    assert world.sfn.failures == [("tok-1", "OrderCancelled")]


def test_a_payable_order_waits_for_its_payment(world):
    world.orders.add(status=PENDING_PAYMENT)
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD")
    assert step("await_payment", world, task_token="tok-1") == {"waiting": "pay_01KAXYZ0000000000000000001"}
    assert world.payments.payments["pay_01KAXYZ0000000000000000001"].task_token == "tok-1" and world.sfn.failures == []


# -- ConfirmOrder, CommitStock --------------------------------------------------------------------


def test_a_cancellation_that_got_there_first_wins_over_the_payment(world):
    world.orders.add(status=CANCELLED)
    with pytest.raises(saga.OrderNotPayable):
        step("confirm_order", world)
    assert world.orders.get(ORDER_ID).status == CANCELLED


def test_confirmation_writes_the_sellers_parts_with_it_and_a_retry_after_it_goes_on(world):
    world.orders.add(status=PENDING_PAYMENT, items=[line()])
    step("confirm_order", world)
    step("confirm_order", world)  # the step's Lambda died after its transaction: the retry finds it done
    order = world.orders.get(ORDER_ID)
    assert order.status == CONFIRMED and [entry["status"] for entry in order.history] == [CONFIRMED]
    assert world.orders.transactions == [[{"Put": f"seller part and purchases of {ORDER_ID}"}]]


def test_stock_is_sold_only_while_the_order_is_confirmed(world):
    world.orders.add(status=CONFIRMED, items=[line()], hold_ids={SKU: "hold-1"})
    step("commit_stock", world)
    assert world.inventory.committed == [([OrderLine(SKU, 2)], {"ConditionCheck": (ORDER_ID, CONFIRMED)})]
    world.inventory.refuse["commit"] = ConcurrentChange()  # cancelled between the read and the commit
    with pytest.raises(saga.OrderNotPayable):
        step("commit_stock", world)


def test_a_hold_that_ended_before_the_commit_is_stock_lost_which_the_saga_compensates(world):
    world.orders.add(status=CONFIRMED, items=[line()], hold_ids={SKU: "hold-1"})
    world.inventory.refuse["commit"] = StockLost("the hold expired")
    with pytest.raises(StockLost):
        step("commit_stock", world)
    assert "StockLost" in saga.BUSINESS_OUTCOMES  # never retried: straight to compensation


# -- compensation ---------------------------------------------------------------------------------


def caught(error: str, cause: Any = "") -> dict[str, str]:
    """The {Error, Cause} Step Functions catches into $.error."""
    return {"Error": error, "Cause": cause if isinstance(cause, str) else json.dumps(cause)}


def test_a_refused_checkout_that_never_reached_payment_fails_with_the_refusals_code_and_details(world):
    world.orders.add()
    rejected = saga.CheckoutRejected("OUT_OF_STOCK", "Not enough stock.", {"sku_id": SKU})
    answer = step("cancel_order", world, error=caught("CheckoutRejected", {"errorMessage": str(rejected)}))
    order = world.orders.get(ORDER_ID)
    assert answer == {"order_id": ORDER_ID, "status": FAILED, "code": "OUT_OF_STOCK"}
    assert order.status == FAILED and order.reason == "OUT_OF_STOCK"
    assert order.failure == {"code": "OUT_OF_STOCK", "message": "Not enough stock.", "details": {"sku_id": SKU}}
    assert world.compensations == ["refused"]


@pytest.mark.parametrize(("status", "error", "reason", "cause"), [
    (PENDING_PAYMENT, "States.Timeout", "PAYMENT_WINDOW_ELAPSED", "refused"),
    (PENDING_PAYMENT, "PaymentFailed", "PAYMENT_FAILED", "refused"),
    (PENDING_PAYMENT, "OrderCancelled", "CANCELLED", "refused"),
    (CONFIRMED, "StockLost", "STOCK_UNAVAILABLE", "refused"),
    (CONFIRMED, "RuntimeError", "CHECKOUT_ERROR", "failed"),  # a step that failed all its retries: an incident
])
def test_a_checkout_past_payment_is_cancelled_with_the_reason_of_what_stopped_it(world, status, error, reason, cause):
    world.orders.add(status=status, items=[line()])
    assert step("cancel_order", world, error=caught(error, {"errorMessage": "it stopped"}))["status"] == CANCELLED
    order = world.orders.get(ORDER_ID)
    assert (order.status, order.reason) == (CANCELLED, reason) and world.compensations == [cause]
    # a retry of the step changes nothing and counts nothing again
    step("cancel_order", world, error=caught(error))
    assert world.orders.get(ORDER_ID).history == order.history and world.compensations == [cause]


def test_an_order_the_buyer_cancelled_meanwhile_keeps_its_reason_and_is_not_counted(world):
    world.orders.add(status=CANCELLED, reason="CANCELLED_BY_CUSTOMER")
    assert step("cancel_order", world, error=caught("OrderCancelled"))["status"] == CANCELLED
    assert world.orders.get(ORDER_ID).reason == "CANCELLED_BY_CUSTOMER" and world.compensations == []


def test_an_order_shipped_meanwhile_is_never_compensated(world):
    world.orders.add(status=SHIPPED, items=[line()], shipped_sellers=["seller-1"])
    with pytest.raises(RuntimeError, match="refusing to compensate"):
        step("cancel_order", world, error=caught("RuntimeError"))
    assert world.orders.get(ORDER_ID).status == SHIPPED and world.compensations == []


def test_a_confirmed_order_a_seller_already_shipped_part_of_is_not_cancelled(world):
    world.orders.add(status=CONFIRMED, items=[line()], shipped_sellers=["seller-1"])
    with pytest.raises(RuntimeError, match="refusing to compensate"):
        step("cancel_order", world, error=caught("RuntimeError"))
    assert world.orders.get(ORDER_ID).status == CONFIRMED


def test_compensation_returns_the_stock_frees_the_cart_and_refunds_the_money_once(world):
    world.orders.add(status=CANCELLED, items=[line()], hold_ids={SKU: "hold-1"})
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD").status = "succeeded"
    for _ in range(2):  # compensation steps are retried
        step("release_stock", world)
        assert step("refund_if_captured", world)["payment_status"] == "refunded"
    assert world.inventory.returned == [[OrderLine(SKU, 2)]] * 2  # inventory makes it once (its ledger)
    assert world.cart.released == [("cart-1", ORDER_ID)] * 2 and world.payments.refunds == 1


def test_compensation_cancels_a_payment_not_made_so_late_money_goes_back_on_arrival(world):
    world.orders.add(status=CANCELLED)
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD")
    assert step("refund_if_captured", world)["payment_status"] == "canceled"
    assert world.payments.refunds == 0


def test_a_failed_checkout_with_no_payment_has_nothing_to_refund(world):
    world.orders.add(status=FAILED)
    assert step("refund_if_captured", world)["payment_status"] is None


# -- settlement (PUT /cancel and the order settler) ---------------------------------------------


def test_settling_a_cancelled_order_returns_the_stock_gives_the_payment_up_and_stops_the_waiting_checkout(world):
    world.orders.add(status=CANCELLED, items=[line()])
    world.payments.hand_task_token(world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD").payment_id, "tok-1")
    settlement.settle(ORDER_ID, world.ports)
    assert world.inventory.returned == [[OrderLine(SKU, 2)]] and world.cart.released == [("cart-1", ORDER_ID)]
    assert world.payments.payments["pay_01KAXYZ0000000000000000001"].status == "canceled"
    assert world.sfn.failures == [("tok-1", "OrderCancelled")]


def test_settling_an_order_that_still_stands_does_nothing(world):
    world.orders.add(status=CONFIRMED, items=[line()])
    world.payments.open_payment(ORDER_ID, "user-1", 3_000, "USD").status = "succeeded"
    settlement.settle(ORDER_ID, world.ports)
    assert world.inventory.returned == [] and world.payments.refunds == 0 and world.sfn.failures == []
