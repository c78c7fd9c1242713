"""The outbox: notices the `outbox` sender "sent" (functions/notifications/senders.py), read
back for tests and local debugging. A scan: the outbox is a local stand-in, never large, and
reading it needs no index on the table."""

from __future__ import annotations

from typing import Any

from functions.notifications import store
from functions.notifications.senders import OUTBOX

FIELDS = ("event_id", "kind", "order_id", "recipient_id", "to", "subject", "body", "sent_at")


def read_outbox(order_id: str | None = None) -> list[dict[str, Any]]:
    """Sent outbox messages (of one order, if given), oldest first."""
    messages = [{name: getattr(notice, name) for name in FIELDS} for notice in store.sent_notices(OUTBOX, order_id)]
    return sorted(messages, key=lambda message: (message["sent_at"] or "", message["event_id"], message["kind"]))
