"""The payments table.

  payment  pk=PAYMENT#<payment_id>  sk=PAYMENT   order_id, user_id, amount, currency, provider, provider_ref,
           status, payment_path, payment_url, client_secret, task_token, refund_ref, created_at, updated_at
  event    pk=EVENT#<provider event id> sk=EVENT  a webhook event already handled (de-duplication), TTL 30 days
  idempotency pk=IDEMPOTENCY#... (shared/idempotency.py, POST /payments)

One payment per order: its id is derived from the order's (pay_<order ulid>), so creating it twice
is the same conditional put. Status moves only forward, each move conditional on where it comes from:

  pending -> succeeded | failed | canceled;  canceled -> succeeded (paid after the order was
  cancelled: refunded at once);  succeeded -> refunded
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from shared.attributes import from_attrs, now_iso, to_attr, to_item
from shared.tables import connection, is_condition_failure

PENDING, SUCCEEDED, FAILED, CANCELED, REFUNDED = "pending", "succeeded", "failed", "canceled", "refunded"
ALLOWED_FROM = {
    SUCCEEDED: (PENDING, CANCELED),
    FAILED: (PENDING,),
    CANCELED: (PENDING,),
    REFUNDED: (SUCCEEDED,),
}
EVENT_TTL_SECONDS = 30 * 86_400


def table() -> str:
    return os.environ["PAYMENTS_TABLE_NAME"]


def payment_id_for(order_id: str) -> str:
    return "pay_" + order_id.removeprefix("ord_")


def _key(payment_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PAYMENT#{payment_id}"}, "sk": {"S": "PAYMENT"}}


@dataclass
class Payment:
    payment_id: str
    order_id: str
    user_id: str
    amount: int
    currency: str
    provider: str
    status: str
    provider_ref: str | None = None
    payment_path: str | None = None
    payment_url: str | None = None
    client_secret: str | None = None
    task_token: str | None = None
    refund_ref: str | None = None
    created_at: str = ""
    updated_at: str = ""


def _payment(item: dict[str, Any]) -> Payment:
    plain = from_attrs(item)
    fields = Payment.__dataclass_fields__
    return Payment(**{name: plain[name] for name in fields if name in plain})


def get(payment_id: str) -> Payment | None:
    if not payment_id.startswith("pay_"):
        return None
    item = connection().client.get_item(TableName=table(), Key=_key(payment_id), ConsistentRead=True).get("Item")
    return _payment(item) if item else None


def create(payment_id: str, order_id: str, user_id: str, amount: int, currency: str, provider: str) -> Payment:
    """The order's payment, created once (a second call returns the first)."""
    at = now_iso()
    item = {**_key(payment_id), **to_item({
        "payment_id": payment_id, "order_id": order_id, "user_id": user_id, "amount": amount, "currency": currency,
        "provider": provider, "status": PENDING, "created_at": at, "updated_at": at,
    })}
    try:
        connection().client.put_item(TableName=table(), Item=item, ConditionExpression="attribute_not_exists(pk)")
    except Exception as exc:
        if not is_condition_failure(exc):
            raise
    payment = get(payment_id)
    assert payment is not None
    return payment


def update(payment_id: str, fields: dict[str, Any]) -> Payment:
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": to_attr(value) for i, value in enumerate(fields.values())}
    response = connection().client.update_item(
        TableName=table(), Key=_key(payment_id),
        UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
        ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return _payment(response["Attributes"])


def move(payment_id: str, to: str, fields: dict[str, Any] | None = None) -> tuple[Payment, bool]:
    """Move the payment to `to` if it is in an allowed source status; (payment, changed)."""
    sources = ALLOWED_FROM[to]
    extra = fields or {}
    names = {"#status": "status", **{f"#f{i}": name for i, name in enumerate(extra)}}
    values = {
        ":to": to_attr(to), ":now": to_attr(now_iso()),
        **{f":s{i}": to_attr(status) for i, status in enumerate(sources)},
        **{f":f{i}": to_attr(value) for i, value in enumerate(extra.values())},
    }
    sets = ["#status = :to", "updated_at = :now", *(f"#f{i} = :f{i}" for i in range(len(extra)))]
    try:
        response = connection().client.update_item(
            TableName=table(), Key=_key(payment_id), UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=f"#status IN ({', '.join(f':s{i}' for i in range(len(sources)))})",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
        )
        return _payment(response["Attributes"]), True
    except Exception as exc:
        if not is_condition_failure(exc):
            raise
    current = get(payment_id)
    assert current is not None
    return current, False


def event_seen(event_id: str) -> bool:
    item = connection().client.get_item(TableName=table(), Key=_event_key(event_id), ConsistentRead=True).get("Item")
    return item is not None


def remember_event(event_id: str, payment_id: str, event_type: str) -> bool:
    """Record a handled webhook event; False if it was recorded already (a duplicate delivery)."""
    try:
        connection().client.put_item(
            TableName=table(),
            Item={**_event_key(event_id), **to_item({
                "payment_id": payment_id, "type": event_type, "at": now_iso(), "expires_at": int(time.time()) + EVENT_TTL_SECONDS,
            })},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return True
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise


def _event_key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}
