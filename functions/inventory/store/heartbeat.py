"""The availability projector's heartbeat: one item the hold sweeper rewrites on every run.

Its stream record reaches the projector like any stock change, so the cache's watermark keeps
moving while no stock does; a watermark that stops moving means the projection has stalled
(product pages then read the table, see functions/inventory/availability.py).

  heartbeat  pk=HEARTBEAT  sk=HEARTBEAT  at (epoch ms)
"""

from __future__ import annotations

import time

from functions.inventory.store.keys import HEARTBEAT_KEY
from shared.tables import connection


def beat(table: str) -> None:
    """One PutItem of the heartbeat item (`at` = now, epoch ms)."""
    connection().client.put_item(TableName=table, Item={**HEARTBEAT_KEY, "at": {"N": str(int(time.time() * 1000))}})
