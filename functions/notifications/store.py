"""The notifications table. Only the notification sender writes it.

  notice   pk=NOTIFICATION#<event_id>  sk=<kind>#<recipient user id>   (TTL: expires_at)
           event_id, kind, recipient_id, order_id, status, attempt, attempts, lease_until,
           created_at, expires_at; once done: channel, sent_at, to, subject, body, message_id, last_error

One item per notice an order event calls for: PENDING while an attempt holds it (`attempt`,
`lease_until`), then SENT (or SKIPPED: nobody to write to). With the `outbox` sender the item
is the outbox itself: it keeps to/subject/body; with SES it keeps SES's message id.

The items were written by a pynamodb model before; they look the same written here: the same
attribute names, numbers as pynamodb wrote them (`lease_until` may have a fraction), no
attribute for an unset value (never NULL).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from typing import Any

from shared.attributes import from_attrs, to_attr
from shared.tables import connection, is_condition_failure

PENDING = "PENDING"
SENT = "SENT"
SKIPPED = "SKIPPED"


def table() -> str:
    return os.environ.get("NOTIFICATIONS_TABLE_NAME", "notifications")


def key(event_id: str, kind: str, recipient_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"NOTIFICATION#{event_id}"}, "sk": {"S": f"{kind}#{recipient_id}"}}


@dataclass
class Notification:
    event_id: str
    kind: str
    recipient_id: str
    order_id: str
    status: str
    attempt: str  # the attempt that holds (or held) the notice
    lease_until: float  # epoch seconds; after it a PENDING notice is free to take over
    created_at: str
    expires_at: int  # TTL, epoch seconds
    attempts: int = 1
    channel: str | None = None  # "outbox" | "ses", once sent
    sent_at: str | None = None
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    message_id: str | None = None
    last_error: str | None = None

    @property
    def pk(self) -> str:
        return f"NOTIFICATION#{self.event_id}"

    @property
    def sk(self) -> str:
        return f"{self.kind}#{self.recipient_id}"


def _value(value: Any) -> dict[str, Any]:
    """An attribute value; a number as pynamodb's NumberAttribute writes it (JSON: a float too)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"N": json.dumps(value)}
    return to_attr(value)


def notification_item(notice: Notification) -> dict[str, Any]:
    """The notice's item, as it is written (an unset field has no attribute)."""
    values = {f.name: getattr(notice, f.name) for f in fields(notice)}
    return {**key(notice.event_id, notice.kind, notice.recipient_id),
            **{name: _value(value) for name, value in values.items() if value is not None}}  # fmt: skip


def _notification(item: dict[str, Any]) -> Notification:
    plain = from_attrs(item)
    return Notification(**{f.name: plain[f.name] for f in fields(Notification) if f.name in plain})


def get(event_id: str, kind: str, recipient_id: str) -> Notification | None:
    item = connection().client.get_item(TableName=table(), Key=key(event_id, kind, recipient_id), ConsistentRead=True).get("Item")
    return _notification(item) if item else None


def put_new(notice: Notification) -> bool:
    """Write the notice unless it exists; False if it did (it is left as it was)."""
    try:
        connection().client.put_item(TableName=table(), Item=notification_item(notice), ConditionExpression="attribute_not_exists(pk)")
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def _update(notice: Notification, sets: dict[str, Any], condition: str, condition_values: dict[str, Any],
            adds: dict[str, Any] | None = None) -> Notification:  # fmt: skip
    """One conditional UpdateItem: SET `sets`, ADD `adds`; the notice as it is now. Attribute names
    go through placeholders (`status` is a reserved word)."""
    adds = adds or {}
    names = {f"#s{i}": name for i, name in enumerate(sets)} | {f"#a{i}": name for i, name in enumerate(adds)}
    names |= {f"#{name}": name for name in ("status", "attempt") if f"#{name}" in condition}
    values = {f":s{i}": _value(value) for i, value in enumerate(sets.values())}
    values |= {f":a{i}": _value(value) for i, value in enumerate(adds.values())}
    values |= {name: _value(value) for name, value in condition_values.items()}
    expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
    if adds:
        expression += " ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds)))
    response = connection().client.update_item(
        TableName=table(), Key=key(notice.event_id, notice.kind, notice.recipient_id), UpdateExpression=expression,
        ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
    )
    return _notification(response["Attributes"])


def take_over(notice: Notification, attempt: str, lease_until: float) -> Notification | None:
    """The PENDING notice held by `notice.attempt` (its lease over) now held by `attempt`, one
    more attempt; None if it is no longer PENDING or another attempt took it over first."""
    try:
        return _update(
            notice, {"attempt": attempt, "lease_until": lease_until}, "#status = :pending AND #attempt = :held",
            {":pending": PENDING, ":held": notice.attempt}, adds={"attempts": 1},
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return None
        raise


def mark_sent(notice: Notification, channel: str, sent_at: str, recorded: dict[str, str]) -> Notification:
    """SENT, with what the sender asks to keep. Unconditional, but never re-creating a TTL'd item
    (then the condition fails: raises)."""
    return _update(notice, {"status": SENT, "sent_at": sent_at, "channel": channel, **recorded}, "attribute_exists(pk)", {})


def mark_skipped(notice: Notification, reason: str) -> Notification:
    """SKIPPED, with the reason (raises if the item is gone)."""
    return _update(notice, {"status": SKIPPED, "last_error": reason}, "attribute_exists(pk)", {})


def release(notice: Notification, error: str) -> Notification:
    """The lease ends now, if this attempt still holds the notice (raises if not)."""
    return _update(notice, {"lease_until": 0, "last_error": error}, "#attempt = :held", {":held": notice.attempt})


def sent_notices(channel: str, order_id: str | None = None) -> list[Notification]:
    """Every SENT notice of `channel` (of one order, if given): a scan, strongly consistent."""
    condition = "#status = :sent AND #channel = :channel"
    names = {"#status": "status", "#channel": "channel"}
    values = {":sent": to_attr(SENT), ":channel": to_attr(channel)}
    if order_id is not None:
        condition += " AND #order_id = :order_id"
        names["#order_id"], values[":order_id"] = "order_id", to_attr(order_id)
    found: list[Notification] = []
    request: dict[str, Any] = {
        "TableName": table(), "FilterExpression": condition, "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values, "ConsistentRead": True,
    }
    while True:
        response = connection().client.scan(**request)
        found.extend(_notification(item) for item in response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return found
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
