"""The outbox: notices the `outbox` sender "sent" (functions/notifications/senders.py), read
back for tests and local debugging. A scan: the outbox is a local stand-in, never large, and
reading it needs no index on the table."""

from __future__ import annotations

from typing import Any

from functions.notifications.senders import OUTBOX
from functions.notifications.store import SENT, NotificationItem

FIELDS = ("event_id", "kind", "order_id", "recipient_id", "to", "subject", "body", "sent_at")


def read_outbox(order_id: str | None = None) -> list[dict[str, Any]]:
    """Sent outbox messages (of one order, if given), oldest first."""
    condition = (NotificationItem.status == SENT) & (NotificationItem.channel == OUTBOX)
    if order_id is not None:
        condition &= NotificationItem.order_id == order_id
    messages = [{name: getattr(item, name) for name in FIELDS} for item in NotificationItem.scan(condition, consistent_read=True)]
    return sorted(messages, key=lambda message: (message["sent_at"] or "", message["event_id"], message["kind"]))
