"""Stock holds (reservations): the inventory service's API to the cart and to checkout.

Every change is ONE transaction (the store's `transact`: one TransactWriteItems of store/ops.py's
operations) that moves the SKU's counters, writes the hold, and writes the ledger, each under a
condition, so there is no read-then-write window:

- a hold grows by d only if `available >= d` (else OUT_OF_STOCK and nothing changed);
- a hold is created only if absent, and changed or deleted only if it is still the hold (and
  the quantity) that was read: a concurrent change cancels the transaction, which re-reads and
  tries again (with jittered back-off, as for DynamoDB's TransactionConflict);
- a hold ends (release, commit, expiry, transfer) by putting LEDGER#END#<hold_id> only if
  absent: whichever path comes first (user, sweeper, TTL stream record, checkout) wins, the
  others find it done. That is what "released exactly once" rests on.

Several holders may change the same SKU in one call (moving a guest cart's holds to a user's
cart): the SKU's counters then move once, by the net amount, because a transaction may touch
an item only once.

A hot SKU's stock is spread over buckets (buckets.py, ADR 0022). A hold records its bucket:
growth takes from the holder's home bucket (by hash), else from another bucket that has the
units (read in one exact snapshot); shrinking or ending returns to the hold's own bucket. A
bucket's failed condition means another shopper got there first: read again, never a 409 while
the SKU as a whole still has the units. Units split over buckets so that no single one covers
a request are first consolidated into one bucket (the last units are never stranded).
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from functions.inventory import buckets as stock_buckets
from functions.inventory import store
from functions.inventory.store.ops import (
    Cancelled,
    DeleteHold,
    Ledger,
    MoveStock,
    Op,
    PutHold,
    Throttled,
    UpdateHold,
    end_of_hold,
)
from functions.inventory.store.records import Hold, Layout
from shared.errors import OutOfStock, ServiceUnavailable
from shared.ids import new_prefixed_id
from shared.observability import logger

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 0.02
MAX_TRANSACTION_ITEMS = 100

__all__ = ["ConcurrentChange", "Hold", "HoldChange", "apply", "due_holds", "get_holds", "release_deleted_hold",
           "release_if_expired", "reservation_ttl_seconds"]


def reservation_ttl_seconds() -> int:
    return int(os.environ.get("RESERVATION_TTL_SECONDS", "900"))


@dataclass(frozen=True)
class HoldChange:
    """Set `holder_id`'s hold on `sku_id` to `quantity` (0 ends it) expiring at `expires_at`."""

    holder_id: str
    sku_id: str
    quantity: int
    expires_at: int = 0
    end_kind: str = "release"  # the ledger kind if the hold ends: release | commit | transfer
    only_if_held: bool = False  # renewals: skip (do not re-reserve) a hold that is gone
    # Asked-for figures for an OUT_OF_STOCK answer (what the caller's request was about).
    requested: int | None = field(default=None, compare=False)


def get_holds(holder_id: str, sku_ids: list[str]) -> dict[str, Hold]:
    """The holder's current holds on these SKUs (strongly consistent; expired ones included,
    with `expired` true: they still count in `reserved` until released)."""
    return store.current().holds_of(holder_id, sku_ids)


class ConcurrentChange(Exception):
    """The caller's own items (`also`) failed their conditions: re-read and decide again."""


class _SplitStock(Exception):
    """The SKU has the units in total but no single bucket has them: consolidate first."""

    def __init__(self, sku_id: str) -> None:
        super().__init__(sku_id)
        self.sku_id = sku_id


def apply(changes: list[HoldChange], also: list[Any] | None = None) -> dict[tuple[str, str], Hold | None]:
    """Apply the changes atomically; returns each (holder, sku)'s hold afterwards (None = none).

    `also`: the caller's own TransactItems (e.g. the cart's lines, under the cart's version
    condition), written in the same transaction: the cart and its holds never disagree.
    Raises OutOfStock (nothing changed) when a SKU lacks the available stock for a growth, and
    ConcurrentChange when a condition among `also` failed.
    """
    also = list(also or [])
    if not changes and not also:
        return {}
    table = store.current()
    by_holder: dict[str, list[str]] = defaultdict(list)
    for change in changes:
        by_holder[change.holder_id].append(change.sku_id)
    attempts = MAX_ATTEMPTS
    attempt = 0
    busy: dict[str, set[int]] = defaultdict(set)  # buckets found busy (conflict, throttled): try others
    while attempt < attempts:
        attempt += 1
        current = {(holder, sku): hold for holder, skus in by_holder.items() for sku, hold in table.holds_of(holder, skus).items()}
        growing = [change.sku_id for change in changes
                   if change.quantity > (current[(change.holder_id, change.sku_id)].quantity
                                         if (change.holder_id, change.sku_id) in current else 0)]
        layouts = table.stock_layouts(list(dict.fromkeys(growing))) if growing else {}
        if any(layout.bucketed for layout in layouts.values()):
            attempts = max(attempts, MAX_ATTEMPTS + 2 * store.MAX_BUCKETS)  # each retry: someone else won a bucket
        try:
            plan = _plan(changes, current, layouts, busy)
        except _SplitStock as split:
            stock_buckets.redistribute(split.sku_id, collapse=True)
            continue
        if not plan.ops and not also:
            return plan.result
        if len(plan.ops) + len(also) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{len(plan.ops) + len(also)} writes exceed one transaction; split the change")
        try:
            table.transact(plan.ops, also)
            return plan.result
        except Throttled:  # the item's write capacity, for now
            _pause(BASE_BACKOFF_SECONDS * 2 ** min(attempt, 6))
            continue
        except Cancelled as cancelled:
            reasons = cancelled.reasons
        # The caller's own conditions first: if they failed, the caller decides anew (its next
        # decision meets the stock again), and a refused claim is never reported as no stock.
        if "ConditionalCheckFailed" in reasons[len(plan.ops):]:
            raise ConcurrentChange() from None
        elsewhere = False  # a busy bucket of a hot SKU: the next attempt goes to another at once
        for reason, bucket in zip(reasons, plan.stock_buckets, strict=False):
            if bucket is not None and reason in {"TransactionConflict", "ThrottlingError"}:
                busy[bucket[0]].add(bucket[1])
                elsewhere = elsewhere or (layouts.get(bucket[0]) is not None and layouts[bucket[0]].bucketed)
        short = plan.short_of_stock(reasons)
        if short is not None and layouts.get(short[0]) is not None and layouts[short[0]].bucketed:
            # One bucket ran dry under us; the snapshot of the next attempt decides.
            _pause(BASE_BACKOFF_SECONDS)
            continue
        if short is not None:
            sku_id, requested = short
            raise OutOfStock(
                "Not enough stock for this quantity.",
                {"sku_id": sku_id, "requested": requested, "available": _available(sku_id, plan, current)},
            ) from None
        # A hold changed under us, or DynamoDB saw a conflicting transaction: read again.
        logger.info("hold transaction cancelled; retrying", extra={"attempt": attempt, "reasons": reasons})
        _pause(BASE_BACKOFF_SECONDS * (1 if elsewhere else 2 ** min(attempt, 6)))
    raise ServiceUnavailable("The stock is very busy right now; try again.")


def _pause(most_seconds: float) -> None:
    """Jittered back-off before the next attempt (up to `most_seconds`)."""
    time.sleep(random.uniform(0, most_seconds))


def _available(sku_id: str, plan: _Plan, current: dict[tuple[str, str], Hold]) -> int:
    """The most the request could have asked for, in its own terms: what is free now plus what
    its holder already holds, less what the target adds on top of the request (an add of 2 to a
    line of 3 asks for 2 of a target 5: what it could add is just what is free)."""
    free = max(0, stock_buckets.snapshot([sku_id])[sku_id].available)
    held = sum(hold.quantity for (holder, sku), hold in current.items() if sku == sku_id and holder in plan.requesting_holders)
    target, requested = plan.targets[sku_id]
    return max(0, free + held - (target - requested))


@dataclass
class _Plan:
    ops: list[Op] = field(default_factory=list)
    # per op: the SKU whose stock it checks, and the requested amount, or None
    stock_checks: list[tuple[str, int] | None] = field(default_factory=list)
    result: dict[tuple[str, str], Hold | None] = field(default_factory=dict)
    requesting_holders: set[str] = field(default_factory=set)
    targets: dict[str, tuple[int, int]] = field(default_factory=dict)  # sku -> (new hold quantity, requested)
    stock_buckets: list[tuple[str, int] | None] = field(default_factory=list)  # per op: the bucket it moves

    def add(self, op: Op, stock_check: tuple[str, int] | None = None, bucket: tuple[str, int] | None = None) -> None:
        self.ops.append(op)
        self.stock_checks.append(stock_check)
        self.stock_buckets.append(bucket)

    def short_of_stock(self, reasons: list[str]) -> tuple[str, int] | None:
        for reason, check in zip(reasons, self.stock_checks, strict=False):
            if reason == "ConditionalCheckFailed" and check is not None:
                return check
        return None


def _plan(changes: list[HoldChange], current: dict[tuple[str, str], Hold],
          layouts: dict[str, Layout] | None = None, busy: dict[str, set[int]] | None = None) -> _Plan:
    """The transaction for `changes` given the holds and stock read: the counters of each bucket
    move once, by the net amount (a transaction touches an item once), then the holds and the
    ledger; every write conditional on what was read."""
    plan = _Plan()
    layouts = layouts or {}
    # (sku, bucket) -> net movement of that bucket's counters
    reserved_delta: dict[tuple[str, int], int] = defaultdict(int)
    on_hand_delta: dict[tuple[str, int], int] = defaultdict(int)
    requested: dict[str, int] = {}
    hold_ops: list[Op] = []
    # what each bucketed SKU's buckets still have for this plan's growths
    free = {sku: {bucket.index: bucket.available for bucket in layout.buckets}
            for sku, layout in layouts.items() if layout.bucketed}
    for change in changes:  # what a hold of this transaction gives back is there for another's growth
        old = current.get((change.holder_id, change.sku_id))
        if old is not None and change.sku_id in free and old.quantity > max(0, change.quantity):
            free[change.sku_id][old.bucket] = free[change.sku_id].get(old.bucket, 0) + old.quantity - max(0, change.quantity)
    _check_bucketed_stock(changes, current, layouts)
    for change in changes:
        key = (change.holder_id, change.sku_id)
        old = current.get(key)
        if change.only_if_held and old is None:
            plan.result[key] = None
            continue
        old_quantity = old.quantity if old else 0
        old_bucket = old.bucket if old else 0
        new_quantity = max(0, change.quantity)
        delta = new_quantity - old_quantity
        if delta > 0:
            requested[change.sku_id] = change.requested if change.requested is not None else change.quantity
            plan.requesting_holders.add(change.holder_id)
            plan.targets[change.sku_id] = (new_quantity, requested[change.sku_id])
        if old is None and new_quantity == 0:
            plan.result[key] = None
            continue
        if new_quantity == 0:
            assert old is not None
            reserved_delta[(change.sku_id, old_bucket)] -= old_quantity
            if change.end_kind == "commit":
                on_hand_delta[(change.sku_id, old_bucket)] -= old_quantity
            hold_ops.append(DeleteHold(old))
            hold_ops.append(end_of_hold(old, change.end_kind, on_hand_delta=-old_quantity if change.end_kind == "commit" else 0))
            plan.result[key] = None
            continue
        bucket = old_bucket
        if delta > 0 and change.sku_id in free:
            bucket = _pick_bucket(free[change.sku_id], layouts[change.sku_id].active, change.holder_id,
                                  old_bucket if old else None, delta, new_quantity, change.sku_id,
                                  (busy or {}).get(change.sku_id, set()))
        moved = old is not None and bucket != old_bucket
        if moved:  # the hold's units go back to their bucket; the new quantity comes from `bucket`
            reserved_delta[(change.sku_id, old_bucket)] -= old_quantity
            reserved_delta[(change.sku_id, bucket)] += new_quantity
        else:
            reserved_delta[(change.sku_id, bucket)] += delta
        expires_at = change.expires_at or int(time.time()) + reservation_ttl_seconds()
        if old is None:
            hold = Hold(new_prefixed_id("hold"), change.holder_id, change.sku_id, new_quantity, expires_at, bucket)
            hold_ops.append(PutHold(hold))
        else:
            hold = Hold(old.hold_id, change.holder_id, change.sku_id, new_quantity, expires_at, bucket)
            hold_ops.append(UpdateHold(old, hold))
        if moved:
            hold_ops.append(Ledger(change.sku_id, "release", reserved_delta=-old_quantity, holder_id=change.holder_id,
                                   hold_id=hold.hold_id, bucket=old_bucket))
            hold_ops.append(Ledger(change.sku_id, "reserve", reserved_delta=new_quantity, holder_id=change.holder_id,
                                   hold_id=hold.hold_id, bucket=bucket))
        elif delta:
            hold_ops.append(Ledger(change.sku_id, "reserve" if delta > 0 else "release", reserved_delta=delta,
                                   holder_id=change.holder_id, hold_id=hold.hold_id, bucket=bucket))
        plan.result[key] = hold
    for sku_id, bucket in dict.fromkeys(list(reserved_delta) + list(on_hand_delta)):
        move = MoveStock(sku_id, bucket, reserved_delta[(sku_id, bucket)], on_hand_delta[(sku_id, bucket)])
        if move.reserved_delta == 0 and move.on_hand_delta == 0:
            continue
        check = None
        if move.available_delta < 0:  # the condition that says "out of stock" when it fails
            check = (sku_id, requested[sku_id] if sku_id in requested else -move.available_delta)
        plan.add(move, check, (sku_id, bucket))
    for op in hold_ops:
        plan.add(op)
    return plan


def _check_bucketed_stock(changes: list[HoldChange], current: dict[tuple[str, str], Hold],
                          layouts: dict[str, Layout]) -> None:
    """A bucketed SKU is out of stock when its exact snapshot's total lacks the net growth (its
    buckets' conditions alone cannot say so: one bucket may be dry while others are not)."""
    growth: dict[str, int] = defaultdict(int)
    for change in changes:
        layout = layouts.get(change.sku_id)
        old = current.get((change.holder_id, change.sku_id))
        if layout is None or not layout.bucketed or (change.only_if_held and old is None):
            continue
        growth[change.sku_id] += max(0, change.quantity) - (old.quantity if old else 0)
    for sku_id, need in growth.items():
        layout = layouts[sku_id]
        if need > layout.available:
            asking = next(c for c in changes if c.sku_id == sku_id and c.quantity > 0)
            requested = asking.requested if asking.requested is not None else asking.quantity
            held = sum(hold.quantity for (holder, sku), hold in current.items()
                       if sku == sku_id and holder in {c.holder_id for c in changes if c.sku_id == sku_id})
            raise OutOfStock("Not enough stock for this quantity.", {
                "sku_id": sku_id, "requested": requested,
                "available": max(0, layout.available + held - (asking.quantity - requested)),
            })


def _pick_bucket(free: dict[int, int], active: int, holder_id: str, old_bucket: int | None, delta: int,
                 new_quantity: int, sku_id: str, busy: set[int]) -> int:
    """Where a growing hold takes its units: its own bucket if that has the growth, else the
    holder's home bucket, else any active bucket with the whole new quantity (at random, so that
    shoppers thrown off their home bucket do not all pile onto the same one). Buckets that this
    request found busy (another transaction in flight, or out of capacity) come last."""
    if old_bucket is not None and old_bucket not in busy and free.get(old_bucket, 0) >= delta:
        free[old_bucket] -= delta
        return old_bucket
    home = store.home_bucket(holder_id, active)
    covering = [index for index in range(active) if free.get(index, 0) >= new_quantity]
    if not covering:
        raise _SplitStock(sku_id)
    idle = [index for index in covering if index not in busy] or covering
    bucket = home if home in idle else random.choice(idle)
    free[bucket] -= new_quantity
    if old_bucket is not None:
        free[old_bucket] = free.get(old_bucket, 0) + new_quantity - delta  # the old units go back there
    return bucket


# -- expiry -------------------------------------------------------------------------------------


def release_if_expired(hold: Hold, now: int | None = None) -> bool:
    """The sweeper's release: delete the hold only if it is still this hold (same id, quantity and
    bucket) and still due, put its end entry, return the stock to its bucket. False: renewed,
    changed, or already ended by another path."""
    now = int(time.time()) if now is None else now
    return _ended([DeleteHold(hold, due_by=now), MoveStock(hold.sku_id, hold.bucket, -hold.quantity, 0), end_of_hold(hold, "expire")])


def release_deleted_hold(hold: Hold) -> bool:
    """The TTL backstop: DynamoDB already deleted the hold (its stream REMOVE record); return its
    stock once. False: this hold's end is already recorded (a redelivered record)."""
    return _ended([MoveStock(hold.sku_id, hold.bucket, -hold.quantity, 0), end_of_hold(hold, "expire")])


def _ended(ops: list[Op]) -> bool:
    table = store.current()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            table.transact(ops)
            return True
        except Throttled:  # the item's write capacity, for now
            _pause(BASE_BACKOFF_SECONDS * 2 ** min(attempt, 6))
        except Cancelled as cancelled:
            if cancelled.condition_failed:
                return False  # not due any more, changed, or already ended: nothing to do
            _pause(BASE_BACKOFF_SECONDS * 2 ** min(attempt, 6))
    raise ServiceUnavailable("The stock is very busy right now; try again.")


def due_holds(now: int | None = None, limit: int = 500) -> list[Hold]:
    """Holds whose expiry has passed, oldest first per shard (from the sparse expiry index)."""
    return store.current().due_holds(int(time.time()) if now is None else now, limit)
