"""What the notifications service offers outside itself: the domain events it publishes on the
`OrderEvents` bus (their source and detail types), so rules and subscribers can match them.

The only module of functions/notifications/ another service (or infra/) may import (.importlinter).
"""

from __future__ import annotations

from functions.notifications.order_events import DETAIL_TYPES, SOURCE

__all__ = ["DETAIL_TYPES", "SOURCE"]
