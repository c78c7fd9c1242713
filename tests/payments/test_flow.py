"""The payment flow's decisions (functions/payments/flow.py) on an in-memory payments table: resume
the checkout waiting on a payment, or refund money that arrived for an order that had given its
payment up, each exactly once however often and in whatever order the events and the orders
service's calls come. No moto, no stack: milliseconds (`make test-unit`).

The fake table keeps the real store's rules: status moves only along store.ALLOWED_FROM, the
refunded total only grows, a webhook event is remembered per (provider, event, payment).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from functions.payments import flow, store
from functions.payments.providers import PaymentRequest, ProviderEvent

AMOUNT = 2_500  # minor units
PAYMENT_ID = "pay_01KAXYZ0000000000000000001"
ORDER_ID = "ord_01KAXYZ0000000000000000001"


class FakePaymentStore:
    """functions/payments/store.py's flow-facing functions, in memory (flow.PaymentStore)."""

    def __init__(self) -> None:
        self.payments: dict[str, store.Payment] = {}
        self.events: set[tuple[str, str, str]] = set()

    def add(self, **fields: Any) -> store.Payment:
        payment = store.Payment(**{
            "payment_id": PAYMENT_ID, "order_id": ORDER_ID, "user_id": "user-1", "amount": AMOUNT, "currency": "USD",
            "provider": "sandbox", "status": store.PENDING, "provider_ref": PAYMENT_ID, **fields,
        })
        self.payments[payment.payment_id] = payment
        return copy.deepcopy(payment)

    def get(self, payment_id: str) -> store.Payment | None:
        payment = self.payments.get(payment_id)
        return copy.deepcopy(payment) if payment else None

    def update(self, payment_id: str, fields: dict[str, Any]) -> store.Payment:
        self.payments[payment_id] = replace(self.payments[payment_id], **fields)
        return self.get(payment_id)  # type: ignore[return-value]

    def move(self, payment_id: str, to: str, fields: dict[str, Any] | None = None) -> tuple[store.Payment, bool]:
        current = self.payments[payment_id]
        if current.status not in store.ALLOWED_FROM[to]:
            return self.get(payment_id), False  # type: ignore[return-value]
        self.payments[payment_id] = replace(current, status=to, **(fields or {}))
        return self.get(payment_id), True  # type: ignore[return-value]

    def find_by_provider_ref(self, provider: str, provider_ref: str) -> store.Payment | None:
        return next((self.get(p.payment_id) for p in self.payments.values() if (p.provider, p.provider_ref) == (provider, provider_ref)), None)

    def event_seen(self, provider: str, event_id: str, payment_id: str) -> bool:
        return (provider, event_id, payment_id) in self.events

    def remember_event(self, provider: str, event_id: str, payment_id: str, event_type: str) -> bool:
        seen = self.event_seen(provider, event_id, payment_id)
        self.events.add((provider, event_id, payment_id))
        return not seen

    def record_refunded_total(self, payment_id: str, total: int, entry: dict[str, Any] | None = None) -> tuple[store.Payment, bool]:
        current = self.payments[payment_id]
        if current.status not in (store.SUCCEEDED, store.REFUNDED) or total <= current.refunded_total or total > current.amount:
            return self.get(payment_id), False  # type: ignore[return-value]
        status = store.REFUNDED if total >= current.amount else current.status
        self.payments[payment_id] = replace(current, refunded_total=total, status=status, refunds=[*current.refunds, *([entry] if entry else [])])
        return self.get(payment_id), True  # type: ignore[return-value]


class SpentToken(Exception):
    """What Step Functions answers for a token whose task is over."""

    def __init__(self, code: str = "TaskTimedOut") -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


@dataclass
class FakeStepFunctions:
    """Task tokens answered once each; a token answered (or timed out) again is spent."""

    spent: set[str] = field(default_factory=set)
    successes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def _answer(self, token: str) -> None:
        if token in self.spent:
            raise SpentToken()
        self.spent.add(token)

    def send_task_success(self, taskToken: str, output: str) -> None:  # noqa: N803 - boto3's names
        self._answer(taskToken)
        self.successes.append(taskToken)

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> None:  # noqa: N803
        self._answer(taskToken)
        self.failures.append((taskToken, error))


@dataclass
class FakeProvider:
    """The provider's refunds, idempotent on their key as a real provider's are; `failing` calls fail first."""

    name: str = "sandbox"
    failing: int = 0
    calls: list[str | None] = field(default_factory=list)
    refunded: set[str] = field(default_factory=set)

    def refund(self, request: PaymentRequest, provider_ref: str, amount: int | None = None, idempotency_key: str | None = None) -> str:
        key = idempotency_key or request.payment_id
        self.calls.append(key)
        if self.failing:
            self.failing -= 1
            raise TimeoutError("injected: the provider did not answer")
        self.refunded.add(key)
        return f"re_{key}"


@pytest.fixture
def table() -> FakePaymentStore:
    return FakePaymentStore()


@pytest.fixture
def sfn() -> FakeStepFunctions:
    return FakeStepFunctions()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def ports(table, sfn, provider) -> flow.Ports:
    return flow.Ports(store=table, provider=lambda name=None: provider, step_functions=lambda: sfn)


def event(kind: str = "succeeded", amount: int | None = AMOUNT, event_id: str = "msg_1", currency: str = "USD") -> ProviderEvent:
    return ProviderEvent(event_id=event_id, type=f"payment.{kind}", payment_id=PAYMENT_ID, amount=amount, currency=currency,
                         provider_ref=PAYMENT_ID)


# -- money and the waiting checkout ---------------------------------------------------------------


def test_money_for_a_waiting_checkout_resumes_it_once_and_a_repeat_is_a_duplicate(table, sfn, provider, ports):
    # GIVEN a payment the checkout waits on (its task token stored)
    table.add(task_token="tok-1")
    # WHEN the provider says it succeeded, and delivers the same event again
    first = flow.handle_event("sandbox", event(), ports)
    again = flow.handle_event("sandbox", event(), ports)
    # THEN the checkout is resumed once, nothing is refunded, and the repeat changes nothing
    assert (first, again) == ("succeeded", "duplicate")
    assert sfn.successes == ["tok-1"] and provider.calls == []
    assert table.get(PAYMENT_ID).status == store.SUCCEEDED


def test_money_before_the_saga_hands_over_its_token_is_answered_when_it_does(table, sfn, ports):
    # GIVEN a payment whose checkout has not stored its task token yet
    table.add()
    # WHEN the money arrives first
    assert flow.handle_event("sandbox", event(), ports) == "succeeded"
    assert sfn.successes == []
    # THEN the token, once handed over, is answered at once
    payment, answered = flow.hand_task_token(PAYMENT_ID, "tok-1", ports)
    assert answered and payment.task_token == "tok-1" and sfn.successes == ["tok-1"]


def test_a_token_handed_over_before_any_outcome_waits(table, sfn, ports):
    table.add()
    payment, answered = flow.hand_task_token(PAYMENT_ID, "tok-1", ports)
    assert not answered and payment.status == store.PENDING and sfn.successes == sfn.failures == []


def test_a_declined_payment_fails_the_waiting_checkout_and_a_late_decline_after_the_money_changes_nothing(table, sfn, provider, ports):
    # GIVEN two payments, one declined, one paid
    table.add(task_token="tok-1")
    assert flow.handle_event("sandbox", event("failed"), ports) == store.FAILED
    assert sfn.failures == [("tok-1", "PaymentFailed")]
    table.add(payment_id="pay_2", provider_ref="pay_2", task_token="tok-2")
    paid = replace(event(), payment_id="pay_2", provider_ref="pay_2")
    assert flow.handle_event("sandbox", paid, ports) == "succeeded"
    # WHEN a decline of the paid one arrives late
    late = replace(event("failed", event_id="msg_late"), payment_id="pay_2", provider_ref="pay_2")
    # THEN it is acknowledged and the payment stays succeeded (the spent token is no error)
    assert flow.handle_event("sandbox", late, ports) == store.SUCCEEDED
    assert table.get("pay_2").status == store.SUCCEEDED and provider.calls == []


# -- money that arrived too late ------------------------------------------------------------------


def test_money_after_the_order_gave_its_payment_up_is_refunded_at_once_and_once(table, sfn, provider, ports):
    # GIVEN an order cancelled before it was paid: the orders service gave its payment up
    table.add(task_token="tok-1")
    canceled = flow.refund_if_captured(PAYMENT_ID, ports)
    assert canceled.status == store.CANCELED and canceled.canceled_at and provider.calls == []
    # WHEN the buyer pays anyway, and the provider repeats the event under another id
    outcome = flow.handle_event("sandbox", event(), ports)
    repeat = flow.handle_event("sandbox", event(event_id="msg_2"), ports)
    # THEN the money goes back at once, one refund of all of it, and no checkout is resumed
    assert (outcome, repeat) == ("refunded", store.REFUNDED)
    payment = table.get(PAYMENT_ID)
    assert payment.status == store.REFUNDED and payment.refunded_total == AMOUNT
    assert provider.calls == [PAYMENT_ID] and sfn.successes == []


def test_a_cancellation_after_the_money_refunds_it_and_a_second_cancellation_refunds_nothing(table, provider, ports):
    # GIVEN money that arrived for an order its checkout was no longer waiting for
    table.add()
    assert flow.handle_event("sandbox", event(), ports) == "succeeded"
    # WHEN the orders service gives the payment up (the saga's compensation, then the order settler)
    first = flow.refund_if_captured(PAYMENT_ID, ports)
    second = flow.refund_if_captured(PAYMENT_ID, ports)
    # THEN it is refunded once
    assert first.status == second.status == store.REFUNDED and provider.calls == [PAYMENT_ID]


def test_money_for_a_checkout_that_stopped_waiting_is_left_to_the_orders_compensation(table, sfn, provider, ports):
    # GIVEN a checkout whose payment window elapsed (its token timed out) before the money came
    table.add(task_token="tok-1")
    sfn.spent.add("tok-1")
    # WHEN the money arrives
    outcome = flow.handle_event("sandbox", event(), ports)
    # THEN it is recorded, not refunded here: the payment cannot tell a finished checkout from an
    # abandoned one; the orders service's compensation (or its payments-stream settler) gives it up
    assert outcome == "succeeded" and table.get(PAYMENT_ID).status == store.SUCCEEDED and provider.calls == []
    assert flow.refund_if_captured(PAYMENT_ID, ports).status == store.REFUNDED and provider.calls == [PAYMENT_ID]


def test_a_webhook_that_died_while_refunding_late_money_refunds_it_once_on_the_providers_retry(table, provider, ports):
    # GIVEN a payment the order gave up, and a provider whose first refund call fails
    table.add()
    flow.refund_if_captured(PAYMENT_ID, ports)
    provider.failing = 1
    # WHEN the money arrives: the refund fails, so the webhook fails and the event is not remembered
    with pytest.raises(TimeoutError):
        flow.handle_event("sandbox", event(), ports)
    assert table.get(PAYMENT_ID).status == store.SUCCEEDED and not table.events
    # THEN the provider's retry of the same event refunds it (the same idempotency key: one refund)
    assert flow.handle_event("sandbox", event(), ports) == "refunded"
    assert table.get(PAYMENT_ID).status == store.REFUNDED and provider.calls == [PAYMENT_ID, PAYMENT_ID]
    assert provider.refunded == {PAYMENT_ID}
    assert flow.handle_event("sandbox", event(), ports) == "duplicate"


def test_giving_up_a_payment_that_does_not_exist_or_was_declined_changes_nothing(table, provider, ports):
    assert flow.refund_if_captured("pay_missing", ports) is None
    table.add(status=store.FAILED)
    assert flow.refund_if_captured(PAYMENT_ID, ports).status == store.FAILED and provider.calls == []


# -- refunds the provider reports ----------------------------------------------------------------


def test_provider_refunds_raise_the_total_only_upwards_and_the_whole_amount_refunds_the_payment(table, ports):
    table.add(status=store.SUCCEEDED)
    assert flow.handle_event("sandbox", event("refunded", 500, "msg_r1"), ports) == "partially_refunded"
    assert flow.handle_event("sandbox", event("refunded", 200, "msg_r0"), ports) == "partially_refunded"  # an older report
    assert table.get(PAYMENT_ID).refunded_total == 500
    with pytest.raises(flow.EventMismatch):
        flow.handle_event("sandbox", event("refunded", AMOUNT + 1, "msg_r2"), ports)
    assert flow.handle_event("sandbox", event("refunded", AMOUNT, "msg_r3"), ports) == store.REFUNDED
    payment = table.get(PAYMENT_ID)
    assert payment.refunded_total == AMOUNT and [entry["amount"] for entry in payment.refunds] == [500, AMOUNT - 500]


# -- events that do not fit -----------------------------------------------------------------------


def test_events_that_do_not_fit_the_payment_change_nothing(table, sfn, ports):
    table.add(task_token="tok-1")
    with pytest.raises(flow.EventMismatch):
        flow.handle_event("sandbox", event(amount=AMOUNT - 1), ports)
    with pytest.raises(flow.EventMismatch):
        flow.handle_event("sandbox", event(currency="EUR"), ports)
    with pytest.raises(flow.UnknownPayment):
        flow.handle_event("sandbox", replace(event(), payment_id="pay_unknown", provider_ref=None), ports)
    with pytest.raises(flow.UnknownPayment):
        flow.handle_event("stripe", event(), ports)  # not a payment of this provider
    assert flow.handle_event("sandbox", replace(event(), type="payment.created"), ports) == "ignored"
    assert table.get(PAYMENT_ID).status == store.PENDING and sfn.successes == [] and not table.events
