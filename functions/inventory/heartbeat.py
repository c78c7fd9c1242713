"""The availability projector's heartbeat: one item the hold sweeper rewrites on every run.

Its stream record reaches the projector like any stock change, so the cache's watermark keeps
moving while no stock does; a watermark that stops moving means the projection has stalled
(product pages then read the table, see functions/inventory/availability.py).

  heartbeat  pk=HEARTBEAT  sk=HEARTBEAT  at (epoch ms)
"""

from __future__ import annotations

import os
import time

from functions.inventory.store import HEARTBEAT_KEY
from shared.tables import connection


def beat() -> None:
    """One PutItem of the heartbeat item (`at` = now, epoch ms)."""
    connection().client.put_item(
        TableName=os.environ["INVENTORY_TABLE_NAME"],
        Item={**HEARTBEAT_KEY, "at": {"N": str(int(time.time() * 1000))}},
    )
