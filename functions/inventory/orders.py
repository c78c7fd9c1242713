"""The inventory service's API to checkout: an order's holds, from the cart to sold or back.

Every step is idempotent, because saga tasks are retried and compensation may run twice (the
saga and the cancelled-order settler both settle a cancelled order):

- `hold_for_order` moves the cart's holds to the order (a transfer: the counters do not move)
  and extends them to the payment window; a line whose cart hold lapsed is reserved afresh.
  Run again, it finds the holds already moved and only re-sets their expiry.
- `commit_order` turns the order's holds into sales (reserved and on_hand both drop), in the
  same transaction as a check that the order is still CONFIRMED: a cancelled order can never
  sell stock. A hold already committed (its end entry says so) counts as done.
- `return_order_stock` undoes whatever the order still has: a live hold is released, a committed
  one is restocked exactly once (its LEDGER#RETURN#<order>#<sku> entry is put only if absent).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from functions.inventory import holds, store
from functions.inventory.holds import HoldChange
from functions.inventory.store.ops import Cancelled, Ledger, MoveStock, Throttled
from shared.errors import ServiceUnavailable

CHUNK = 12  # SKUs per transaction: at most 5 writes each (stock, 2 holds, 2 ledger entries)


class StockLost(Exception):
    """An order's hold ended some other way (it expired and was released) before it was committed."""


@dataclass(frozen=True)
class OrderLine:
    sku_id: str
    quantity: int


def holder_id(order_id: str) -> str:
    return f"order:{order_id}"


def hold_for_order(
    cart_id: str, order_id: str, lines: list[OrderLine], expires_at: int, also: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """Move the cart's holds on these lines to the order; returns sku -> the order's hold id.
    `also`: the caller's TransactItems, written in every chunk's transaction (the cart's checkout
    claim: no chunk moves or reserves anything unless it holds). Raises OutOfStock (that chunk
    unchanged) when a lapsed line cannot be reserved again, holds.ConcurrentChange when `also`
    failed its condition."""
    hold_ids: dict[str, str] = {}
    order_holder = holder_id(order_id)
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start : start + CHUNK]
        changes = []
        for line in chunk:
            changes.append(HoldChange(cart_id, line.sku_id, 0, end_kind="transfer"))
            changes.append(HoldChange(order_holder, line.sku_id, line.quantity, expires_at, requested=line.quantity))
        result = holds.apply(changes, also=list(also or []))
        for line in chunk:
            hold = result.get((order_holder, line.sku_id))
            if hold is not None:
                hold_ids[line.sku_id] = hold.hold_id
    return hold_ids


def commit_order(order_id: str, lines: list[OrderLine], hold_ids: dict[str, str], order_check: dict[str, Any]) -> None:
    """Sell the order's held stock, under `order_check` (a ConditionCheck that the order is
    CONFIRMED). Raises StockLost if a hold ended otherwise, holds.ConcurrentChange if the check failed."""
    order_holder = holder_id(order_id)
    current = holds.get_holds(order_holder, [line.sku_id for line in lines])
    pending = []
    for line in lines:
        if line.sku_id in current:
            pending.append(line)
        elif end_kind(line.sku_id, hold_ids.get(line.sku_id, "")) != "commit":
            raise StockLost(f"the hold on {line.sku_id} ended before it was committed")
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        holds.apply([HoldChange(order_holder, line.sku_id, 0, end_kind="commit") for line in chunk], also=[order_check])


def return_order_stock(order_id: str, lines: list[OrderLine], hold_ids: dict[str, str]) -> None:
    """Release what the order holds and restock what it bought (each exactly once)."""
    order_holder = holder_id(order_id)
    current = holds.get_holds(order_holder, [line.sku_id for line in lines])
    live = [line for line in lines if line.sku_id in current]
    for start in range(0, len(live), CHUNK):
        holds.apply([HoldChange(order_holder, line.sku_id, 0, end_kind="release") for line in live[start : start + CHUNK]])
    for line in lines:
        if line.sku_id not in current and end_kind(line.sku_id, hold_ids.get(line.sku_id, "")) == "commit":
            _restock_once(order_id, line)


def end_kind(sku_id: str, hold_id: str) -> str | None:
    """How a hold ended (commit, release, expire, transfer), or None if it has not ended."""
    if not hold_id:
        return None
    return store.current().end_kind(sku_id, hold_id)


BUSY_ATTEMPTS = 6
BASE_BACKOFF_SECONDS = 0.02


def _restock_once(order_id: str, line: OrderLine) -> None:
    """The sold units back on hand, with the order's return entry (LEDGER#RETURN#<order>#<sku>)
    put only if absent: a second settlement finds it and does nothing."""
    ops = [
        Ledger(line.sku_id, "return", on_hand_delta=line.quantity, holder_id=holder_id(order_id), once=f"RETURN#{order_id}#{line.sku_id}"),
        MoveStock(line.sku_id, 0, on_hand_delta=line.quantity),
    ]
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        try:
            store.current().transact(ops)
            return
        except Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
                return  # already returned
            if not cancelled.busy:
                raise
        except Throttled:
            pass
        if attempt < BUSY_ATTEMPTS:  # DynamoDB was busy (capacity, a transaction in flight): send it again
            _pause(BASE_BACKOFF_SECONDS * 2**attempt)
    raise ServiceUnavailable("This is very busy right now; try again.")


def _pause(most_seconds: float) -> None:
    """Jittered back-off before the next attempt (up to `most_seconds`)."""
    time.sleep(random.uniform(0, most_seconds))
