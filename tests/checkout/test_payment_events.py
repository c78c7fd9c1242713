"""The payments stream reaches the order (docs/decisions/0039-payments-below-orders.md): payments
never reads or writes the orders table, so money that arrives for an order that is gone, and the
order's refunds, travel as events to the orders service's OrderPaymentSettler. Over HTTP on the
session's local stack (a sandbox stage)."""

from __future__ import annotations

import boto3
import pytest

from functions.orders import settlement
from functions.payments.providers.sandbox import SandboxProvider
from tests.checkout.conftest import checkout, pay, payable, stock, wait_for_order, wait_until

SETTLER = "functions.orders.consumers.settle_payments.handler"


@pytest.fixture
def provider_refunds(monkeypatch) -> list[str]:
    """The payment ids the sandbox provider refunds (the handlers run in this process)."""
    calls: list[str] = []
    real = SandboxProvider.refund

    def counted(self, request, provider_ref, amount=None, idempotency_key=None):
        calls.append(request.payment_id)
        return real(self, request, provider_ref, amount, idempotency_key)

    monkeypatch.setattr(SandboxProvider, "refund", counted)
    return calls


def payment_record(local_stack, payment_id: str, old_status: str) -> dict:
    """A payments stream record of the payment as it is now, coming from `old_status` (a redelivery)."""
    client = boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    key = {"pk": {"S": f"PAYMENT#{payment_id}"}, "sk": {"S": "PAYMENT"}}
    item = client.get_item(TableName=local_stack.runtime.environment["PAYMENTS_TABLE_NAME"], Key=key, ConsistentRead=True)["Item"]
    old = {**item, "status": {"S": old_status}, "refunded_total": {"N": "0"}, "refunds": {"L": []}}
    return {"eventID": "replayed", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": key, "NewImage": item, "OldImage": old, "SequenceNumber": "1", "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def test_money_for_a_cancelled_order_whose_settlement_never_reached_its_payment_is_refunded_from_the_payments_stream(
    monkeypatch, local_stack, shopper, seller, stocked_product, provider_refunds
):
    # GIVEN an order awaiting payment, and a settlement that never gets to the payment (neither the
    # cancel handler, nor the saga's compensation, nor the orders-stream settler gives it up)
    monkeypatch.setattr(settlement, "refund", lambda order, ports=None: None)
    sku = stocked_product([10])["skus"][0]["sku_id"]
    before = stock(seller, sku)
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2}).status_code in (200, 201)
    order = payable(shopper, checkout(shopper))
    payment_id = order["payment"]["payment_id"]
    # WHEN the buyer cancels it, and then pays anyway on the page they still have open
    assert shopper.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel").status_code == 200
    assert shopper.get(f"/api/v1/payments/{payment_id}").json()["data"]["status"] == "pending"
    sent = pay(order["payment"]["payment_url"])
    # THEN the webhook takes the money (the payment alone cannot tell the order is gone) and the
    # orders service, told by the payments stream, gives it back: one refund, the order CANCELLED
    assert sent["webhook_status"] == 200
    payment = lambda: shopper.get(f"/api/v1/payments/{payment_id}").json()["data"]  # noqa: E731
    assert wait_until(lambda: payment()["status"] == "refunded"), payment()
    assert provider_refunds == [payment_id]
    cancelled = wait_for_order(shopper, order["order_id"], ("CANCELLED",))
    assert wait_until(lambda: stock(seller, sku) == before), stock(seller, sku)
    # AND the same change delivered again (a retry, a re-drive from the failure queue) changes nothing more
    function = next(name for name, spec in local_stack.runtime.functions.items() if spec.handler == SETTLER)
    replay = {"Records": [payment_record(local_stack, payment_id, "pending")]}
    assert local_stack.runtime.invoke(function, replay) == {"batchItemFailures": []}
    assert provider_refunds == [payment_id] and payment()["status"] == "refunded"
    assert shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]["history"] == cancelled["history"]


def test_a_paid_order_stays_paid_when_its_payment_change_is_delivered_again(local_stack, shopper, bought, provider_refunds):
    # GIVEN a paid, CONFIRMED order
    order, _ = bought()
    payment_id = order["payment"]["payment_id"]
    # WHEN its payment's success is delivered to the settler again
    function = next(name for name, spec in local_stack.runtime.functions.items() if spec.handler == SETTLER)
    assert local_stack.runtime.invoke(function, {"Records": [payment_record(local_stack, payment_id, "pending")]}) == {"batchItemFailures": []}
    # THEN nothing is refunded: the order still takes its money
    assert provider_refunds == []
    current = shopper.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert current["status"] == "CONFIRMED" and current["payment"]["status"] == "succeeded"
