"""Fault (kept beside the other refund tests for their fixtures): the payment provider fails while an API refund is in flight (POST /orders/{id}/refunds).

The refund was reserved on the payment before the provider call, so nothing is lost or doubled:
another refund of the order waits (409 REFUND_IN_PROGRESS), and the client's retry with the same
Idempotency-Key resumes that very refund (the provider sees the same idempotency key) and records
it once."""

from __future__ import annotations

import uuid

from functions.payments.providers.sandbox import SandboxProvider
from shared import idempotency
from tests.checkout.test_refunds import refund


def provider_refund_failing_once(monkeypatch) -> list[str | None]:
    """The sandbox provider's first refund call times out; returns the idempotency keys it is called with."""
    calls: list[str | None] = []
    real = SandboxProvider.refund

    def refund_once_failing(self, request, provider_ref, amount=None, idempotency_key=None):
        calls.append(idempotency_key)
        if len(calls) == 1:
            raise TimeoutError("injected: the payment provider did not answer")
        return real(self, request, provider_ref, amount, idempotency_key)

    monkeypatch.setattr(SandboxProvider, "refund", refund_once_failing)
    return calls


def test_a_refund_whose_provider_call_failed_is_resumed_by_its_retry_and_counted_once(monkeypatch, admin, shopper, bought):
    # GIVEN a paid order, and a provider whose first refund call fails
    order, _ = bought(on_hand=10, quantity=2)
    calls = provider_refund_failing_once(monkeypatch)
    monkeypatch.setattr(idempotency, "LOCK_SECONDS", 0)  # the retry may take over at once (24 h TTL unchanged)
    key = uuid.uuid4().hex
    # WHEN the refund's provider call fails
    failed = refund(admin, order["order_id"], {"amount": 400, "reason": "Broken"}, key)
    assert failed.status_code == 500, failed.text
    # THEN another refund of the order must wait: the first is still reserved
    other = refund(admin, order["order_id"], {"amount": 100, "reason": "Other"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "REFUND_IN_PROGRESS", other.text
    assert "refunded_total" not in shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    # WHEN the client retries with the same key
    retried = refund(admin, order["order_id"], {"amount": 400, "reason": "Broken"}, key)
    # THEN the same refund is made (the same provider idempotency key) and recorded once
    assert retried.status_code == 201, retried.text
    assert calls == [f"refund-{order['payment']['payment_id']}-400"] * 2
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["refunded_total"] == 400 and [entry["amount"] for entry in current["refunds"]] == [400]
    # AND the next refund goes through again
    assert refund(admin, order["order_id"], {"amount": 100, "reason": "Other"}).status_code == 201
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["refunded_total"] == 500


def test_an_abandoned_refund_is_finished_by_the_next_refund_of_the_order_before_it_goes_on(
    local_stack, monkeypatch, admin, shopper, bought
):
    # GIVEN a refund whose provider call failed and whose client never retried (its reservation is old)
    order, _ = bought(on_hand=10, quantity=2)
    calls = provider_refund_failing_once(monkeypatch)
    assert refund(admin, order["order_id"], {"amount": 400, "reason": "Broken"}).status_code == 500
    _age_reservation(local_stack, order["payment"]["payment_id"])
    # WHEN another refund of the order is asked for
    other = refund(admin, order["order_id"], {"amount": 100, "reason": "Other"})
    # THEN the abandoned refund is finished first (the same provider refund) and recorded once, and
    # this one is refused for now, so that the caller decides on what is left
    assert other.status_code == 409 and other.json()["error"]["code"] == "REFUND_IN_PROGRESS", other.text
    assert calls == [f"refund-{order['payment']['payment_id']}-400"] * 2
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["refunded_total"] == 400 and [(e["amount"], e["reason"]) for e in current["refunds"]] == [(400, "Broken")]
    # AND asked again (a new request), it goes through
    assert refund(admin, order["order_id"], {"amount": 100, "reason": "Other"}).status_code == 201
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["refunded_total"] == 500


def _age_reservation(local_stack, payment_id: str) -> None:
    """As if the reservation had been made STALE_RESERVATION_SECONDS ago (no sleeping in tests)."""
    import boto3

    from functions.payments.refunds import STALE_RESERVATION_SECONDS

    table = local_stack.runtime.environment["PAYMENTS_TABLE_NAME"]
    boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1").update_item(
        TableName=table, Key={"pk": {"S": f"PAYMENT#{payment_id}"}, "sk": {"S": "PAYMENT"}},
        UpdateExpression="SET refund_pending.#at = :old", ConditionExpression="attribute_exists(refund_pending)",
        ExpressionAttributeNames={"#at": "at"},
        ExpressionAttributeValues={":old": {"S": _iso_ago(STALE_RESERVATION_SECONDS + 60)}},
    )


def _iso_ago(seconds: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
