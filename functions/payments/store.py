"""The payments table.

  payment  pk=PAYMENT#<payment_id>  sk=PAYMENT   order_id, user_id, amount, currency, provider, provider_ref,
           status, payment_path, payment_url, client_secret, task_token, refund_ref, refunded_total,
           refunds, refund_pending, canceled_at, created_at, updated_at
  ref      pk=REF#<provider>#<provider_ref> sk=REF  payment_id: finds the payment from a provider's
           reference (a strongly consistent GetItem, written with the reference: never a stale GSI)
  event    pk=EVENT#<provider>#<event id>#<payment_id> sk=EVENT  a webhook event already handled
           (de-duplication per provider, event and payment), TTL 30 days
  idempotency pk=IDEMPOTENCY#... (shared/idempotency.py, POST /payments, POST /orders/{id}/refunds)

One payment per order: its id is derived from the order's (pay_<order ulid>), so creating it twice
is the same conditional put. Status moves only forward, each move conditional on where it comes from:

  pending -> succeeded | failed | canceled;  canceled -> succeeded (paid after the order was
  cancelled: refunded at once; `canceled_at` stays to say so);  succeeded -> refunded

The stream (NEW_AND_OLD_IMAGES) carries every change of a payment to the orders service
(functions/payments/api.py `payment_change`; docs/decisions/0039-payments-below-orders.md).

Refunds (docs/decisions/0017-refund-model.md): `refunded_total` is the cumulative amount the
provider refunded; it only grows (every write is conditional on the total it replaces), and the
payment is `refunded` once it reaches the amount. `refunds` lists each refund learned.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from shared import transactions
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
    refunded_total: int = 0
    refunds: list[dict[str, Any]] = field(default_factory=list)
    refund_pending: dict[str, Any] | None = None
    canceled_at: str | None = None  # the order gave the payment up (cancelled): money arriving later goes back
    created_at: str = ""
    updated_at: str = ""


def _payment(item: dict[str, Any]) -> Payment:
    plain = from_attrs(item)
    fields = Payment.__dataclass_fields__
    payment = Payment(**{name: plain[name] for name in fields if name in plain})
    payment.amount, payment.refunded_total = int(payment.amount), int(payment.refunded_total or 0)
    return payment


def get_many(payment_ids: list[str]) -> dict[str, Payment]:
    """{payment_id: payment} for the ids that exist (strongly consistent reads)."""
    found: dict[str, Payment] = {}
    keys = [_key(payment_id) for payment_id in dict.fromkeys(payment_ids) if payment_id.startswith("pay_")]
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {table(): {"Keys": keys[start:start + 100], "ConsistentRead": True}}
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table(), []):
                payment = _payment(item)
                found[payment.payment_id] = payment
            request = response.get("UnprocessedKeys") or {}
    return found


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


def _ref_key(provider: str, provider_ref: str) -> dict[str, Any]:
    return {"pk": {"S": f"REF#{provider}#{provider_ref}"}, "sk": {"S": "REF"}}


def set_intent(payment: Payment, fields: dict[str, Any]) -> Payment:
    """Store the provider's intent on the payment, with the pointer from its reference in the same
    transaction (so a webhook that names only the reference finds it at once)."""
    ref = fields["provider_ref"]
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": to_attr(value) for i, value in enumerate(fields.values())}
    transactions.write([
        {"Update": {
            "TableName": table(), "Key": _key(payment.payment_id),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }},
        {"Put": {
            "TableName": table(), "Item": {**_ref_key(payment.provider, ref), **to_item({"payment_id": payment.payment_id})},
            # One reference, one payment: a pointer to another payment is never overwritten.
            "ConditionExpression": "attribute_not_exists(pk) OR payment_id = :pid",
            "ExpressionAttributeValues": {":pid": to_attr(payment.payment_id)},
        }},
    ])
    updated = get(payment.payment_id)
    assert updated is not None
    return updated


def find_by_provider_ref(provider: str, provider_ref: str) -> Payment | None:
    item = connection().client.get_item(TableName=table(), Key=_ref_key(provider, provider_ref), ConsistentRead=True).get("Item")
    return get(item["payment_id"]["S"]) if item else None


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


def event_seen(provider: str, event_id: str, payment_id: str) -> bool:
    key = _event_key(provider, event_id, payment_id)
    item = connection().client.get_item(TableName=table(), Key=key, ConsistentRead=True).get("Item")
    return item is not None


def remember_event(provider: str, event_id: str, payment_id: str, event_type: str) -> bool:
    """Record a handled webhook event; False if it was recorded already (a duplicate delivery)."""
    try:
        connection().client.put_item(
            TableName=table(),
            Item={**_event_key(provider, event_id, payment_id), **to_item({
                "payment_id": payment_id, "type": event_type, "at": now_iso(), "expires_at": int(time.time()) + EVENT_TTL_SECONDS,
            })},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return True
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise


def _event_key(provider: str, event_id: str, payment_id: str) -> dict[str, Any]:
    """Keyed by provider, event id AND payment: a genuine event of another payment that reuses an
    id (another provider, a sender with per-payment ids) is never dropped as a duplicate."""
    return {"pk": {"S": f"EVENT#{provider}#{event_id}#{payment_id}"}, "sk": {"S": "EVENT"}}


# -- refunds ------------------------------------------------------------------------------------


class RefundInProgress(Exception):
    """Another refund of this payment is between its reservation and its record."""


def record_refunded_total(payment_id: str, total: int, entry: dict[str, Any] | None = None) -> tuple[Payment, bool]:
    """Raise the payment's cumulative refunded total to `total` (never lower it), appending `entry`;
    the payment becomes `refunded` when the total reaches its amount. (payment, changed)."""
    while True:
        payment = get(payment_id)
        if payment is None:
            raise LookupError(f"no payment {payment_id}")
        if payment.status not in (SUCCEEDED, REFUNDED) or total <= payment.refunded_total or total > payment.amount:
            return payment, False
        if _set_refunded_total(payment, total, [entry] if entry else [], pending_key=None):
            updated = get(payment_id)
            assert updated is not None
            return updated, True


def _set_refunded_total(payment: Payment, total: int, entries: list[dict[str, Any]], pending_key: str | None) -> bool:
    """One conditional write: from exactly the total we read (optimistic), to `total`."""
    full = total >= payment.amount
    sets = ["refunded_total = :total", "refunds = list_append(if_not_exists(refunds, :empty), :entries)", "updated_at = :now"]
    values: dict[str, Any] = {
        ":total": to_attr(total), ":empty": to_attr([]), ":entries": to_attr(entries), ":now": to_attr(now_iso()),
        ":seen": to_attr(payment.refunded_total), ":ok": to_attr(SUCCEEDED), ":done": to_attr(REFUNDED),
    }
    if full:
        sets.append("#status = :done")
    condition = "(attribute_not_exists(refunded_total) OR refunded_total = :seen) AND #status IN (:ok, :done)"
    expression = "SET " + ", ".join(sets)
    if pending_key is not None:
        condition += " AND refund_pending.#key = :key"
        values[":key"] = to_attr(pending_key)
        expression += " REMOVE refund_pending"
    names = {"#status": "status", **({"#key": "key"} if pending_key is not None else {})}
    try:
        connection().client.update_item(
            TableName=table(), Key=_key(payment.payment_id), UpdateExpression=expression, ConditionExpression=condition,
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        )
        return True
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise


def reserve_refund(payment: Payment, key: str, amount: int, by: dict[str, Any] | None = None) -> Payment:
    """Reserve `amount` on top of the refunded total we read, under the request's key: one refund
    of a payment is in flight at a time, and the same key resumes its own reservation."""
    target = payment.refunded_total + amount
    if amount <= 0 or target > payment.amount:
        raise ValueError(f"a refund of {amount} on {payment.refunded_total} refunded exceeds the payment's {payment.amount}")
    try:
        connection().client.update_item(
            TableName=table(), Key=_key(payment.payment_id),
            UpdateExpression="SET refund_pending = :pending",
            ConditionExpression=(
                "(attribute_not_exists(refunded_total) OR refunded_total = :seen) AND #status = :ok"
                " AND (attribute_not_exists(refund_pending) OR refund_pending.#key = :key)"
            ),
            ExpressionAttributeNames={"#status": "status", "#key": "key"},
            ExpressionAttributeValues={
                ":pending": to_attr({"key": key, "amount": amount, "target": target, "at": now_iso(), "by": by or {}}),
                ":seen": to_attr(payment.refunded_total), ":ok": to_attr(SUCCEEDED), ":key": to_attr(key),
            },
        )
    except Exception as exc:
        if is_condition_failure(exc):
            raise RefundInProgress(payment.payment_id) from None
        raise
    reserved = get(payment.payment_id)
    assert reserved is not None
    return reserved


def finish_refund(payment_id: str, key: str, entry: dict[str, Any]) -> Payment:
    """Record the reserved refund (the provider made it) and drop the reservation. A provider
    event may have raised the total meanwhile: the total becomes the larger of the two."""
    while True:
        payment = get(payment_id)
        assert payment is not None
        pending = payment.refund_pending or {}
        if pending.get("key") != key:
            return payment  # recorded already (a retry)
        total = max(payment.refunded_total, int(pending["target"]))
        if _set_refunded_total(payment, total, [entry], pending_key=key):
            updated = get(payment_id)
            assert updated is not None
            return updated


# -- the stream ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentChange:
    """One change of a payment, as the payments stream (NEW_AND_OLD_IMAGES) carries it: what the
    orders service reacts to (docs/decisions/0039-payments-below-orders.md). Amounts in minor units."""

    payment_id: str
    order_id: str
    status: str
    previous_status: str | None  # None: the change created the payment
    amount: int
    refunded_total: int
    previous_refunded_total: int
    refunds: list[dict[str, Any]]

    @property
    def money_arrived(self) -> bool:
        """The payment became `succeeded` with this change (from pending, or from canceled)."""
        return self.status == SUCCEEDED and self.previous_status != SUCCEEDED

    @property
    def refunded_more(self) -> bool:
        """The cumulative refunded total grew with this change."""
        return self.refunded_total > self.previous_refunded_total


def change_from_record(record: dict[str, Any]) -> PaymentChange | None:
    """A payments stream record (Lambda's plain JSON shape) as a PaymentChange; None for any other
    item of the table (references, webhook events, idempotency records) or a removal."""
    dynamodb = record.get("dynamodb") or {}
    if (dynamodb.get("Keys") or {}).get("sk", {}).get("S") != "PAYMENT" or not dynamodb.get("NewImage"):
        return None
    new = from_attrs(dynamodb["NewImage"])
    old = from_attrs(dynamodb["OldImage"]) if dynamodb.get("OldImage") else {}
    return PaymentChange(
        payment_id=new["payment_id"], order_id=new["order_id"], status=new["status"], previous_status=old.get("status"),
        amount=int(new["amount"]), refunded_total=int(new.get("refunded_total") or 0),
        previous_refunded_total=int(old.get("refunded_total") or 0), refunds=list(new.get("refunds") or []),
    )
