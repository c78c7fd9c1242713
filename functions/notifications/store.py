"""Notifications table items (pynamodb). Only the notification sender writes this table.

  notice   pk=NOTIFICATION#<event_id>  sk=<kind>#<recipient user id>   (TTL: expires_at)

One item per notice an order event calls for: PENDING while an attempt holds it (`attempt`,
`lease_until`), then SENT (or SKIPPED: nobody to write to). With the `outbox` sender the item
is the outbox itself: it keeps to/subject/body; with SES it keeps SES's message id.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.tables import table_meta

PENDING = "PENDING"
SENT = "SENT"
SKIPPED = "SKIPPED"


class NotificationItem(Model):
    class Meta(table_meta("NOTIFICATIONS_TABLE_NAME", "notifications")):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    recipient_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    attempt = UnicodeAttribute()  # the attempt that holds (or held) the notice
    attempts = NumberAttribute(default=1)
    lease_until = NumberAttribute()  # epoch seconds; after it a PENDING notice is free to take over
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL, epoch seconds
    channel = UnicodeAttribute(null=True)  # "outbox" | "ses", once sent
    sent_at = UnicodeAttribute(null=True)
    to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)

    @staticmethod
    def key(event_id: str) -> str:
        return f"NOTIFICATION#{event_id}"

    @staticmethod
    def sort_key(kind: str, recipient_id: str) -> str:
        return f"{kind}#{recipient_id}"
