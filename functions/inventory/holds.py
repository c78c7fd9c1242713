"""Stock holds (reservations): the inventory service's API to the cart and to checkout.

Every change is ONE TransactWriteItems that moves the SKU's counters, writes the hold, and
writes the ledger, each under a condition, so there is no read-then-write window:

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
from functions.inventory import store as keys
from functions.inventory.ledger import entry_item
from shared import transactions
from shared.errors import OutOfStock, ServiceUnavailable
from shared.ids import new_prefixed_id
from shared.observability import logger
from shared.tables import connection, error_code

MAX_ATTEMPTS = 8
BUSY = "The stock is very busy right now; try again."


def _table() -> str:
    return os.environ["INVENTORY_TABLE_NAME"]


def reservation_ttl_seconds() -> int:
    return int(os.environ.get("RESERVATION_TTL_SECONDS", "900"))


@dataclass(frozen=True)
class Hold:
    hold_id: str
    holder_id: str
    sku_id: str
    quantity: int
    expires_at: int
    bucket: int = 0  # the stock bucket its units came from (0 for an unbucketed SKU)

    @property
    def expired(self) -> bool:
        return self.expires_at <= time.time()


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
    found: dict[str, Hold] = {}
    unique = list(dict.fromkeys(sku_ids))
    for start in range(0, len(unique), 100):
        request: dict[str, Any] = {
            _table(): {"Keys": [keys.hold_key(sku, holder_id) for sku in unique[start : start + 100]], "ConsistentRead": True}
        }
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(_table(), []):
                hold = _hold(item)
                found[hold.sku_id] = hold
            request = response.get("UnprocessedKeys") or {}
    return found


class ConcurrentChange(Exception):
    """The caller's own items (`also`) failed their conditions: re-read and decide again."""


class _SplitStock(Exception):
    """The SKU has the units in total but no single bucket has them: consolidate first."""

    def __init__(self, sku_id: str) -> None:
        super().__init__(sku_id)
        self.sku_id = sku_id


def _stock_items(sku_ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(sku_ids), 100):
        request: dict[str, Any] = {_table(): {"Keys": [keys.stock_key(sku) for sku in sku_ids[start : start + 100]],
                                              "ConsistentRead": True}}
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(_table(), []):
                found[item["pk"]["S"].removeprefix("SKU#")] = item
            request = response.get("UnprocessedKeys") or {}
    return found


def apply(changes: list[HoldChange], also: list[dict[str, Any]] | None = None) -> dict[tuple[str, str], Hold | None]:
    """Apply the changes atomically; returns each (holder, sku)'s hold afterwards (None = none).

    `also`: the caller's own TransactItems (e.g. the cart's lines, under the cart's version
    condition), written in the same transaction: the cart and its holds never disagree.
    Raises OutOfStock (nothing changed) when a SKU lacks the available stock for a growth, and
    ConcurrentChange when a condition among `also` failed.
    """
    also = list(also or [])
    if not changes and not also:
        return {}
    by_holder: dict[str, list[str]] = defaultdict(list)
    for change in changes:
        by_holder[change.holder_id].append(change.sku_id)
    attempts = MAX_ATTEMPTS
    attempt = 0
    busy: dict[str, set[int]] = defaultdict(set)  # buckets found busy (conflict, throttled): try others
    while attempt < attempts:
        attempt += 1
        current = {(holder, sku): hold for holder, skus in by_holder.items() for sku, hold in get_holds(holder, skus).items()}
        growing = [change.sku_id for change in changes
                   if change.quantity > (current[(change.holder_id, change.sku_id)].quantity
                                         if (change.holder_id, change.sku_id) in current else 0)]
        layouts = stock_buckets.layouts(_stock_items(list(dict.fromkeys(growing)))) if growing else {}
        if any(layout.bucketed for layout in layouts.values()):
            attempts = max(attempts, MAX_ATTEMPTS + 2 * keys.MAX_BUCKETS)  # each retry: someone else won a bucket
        try:
            plan = _plan(changes, current, layouts, busy)
        except _SplitStock as split:
            stock_buckets.redistribute(split.sku_id, collapse=True)
            continue
        if not plan.items and not also:
            return plan.result
        try:
            # retry_busy=False: a busy bucket is tried elsewhere, from a fresh read (below)
            transactions.write(plan.items + also, retry_busy=False)
            return plan.result
        except Exception as exc:  # noqa: BLE001 - classified below
            if error_code(exc) == "ThrottlingException":  # the item's write capacity, for now
                transactions.back_off(attempt)
                continue
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = transactions.cancellation_reasons(exc)
            # The caller's own conditions first: if they failed, the caller decides anew (its next
            # decision meets the stock again), and a refused claim is never reported as no stock.
            if "ConditionalCheckFailed" in reasons[len(plan.items):]:
                raise ConcurrentChange() from None
            elsewhere = False  # a busy bucket of a hot SKU: the next attempt goes to another at once
            for reason, bucket in zip(reasons, plan.stock_buckets, strict=False):
                if bucket is not None and reason in {"TransactionConflict", "ThrottlingError"}:
                    busy[bucket[0]].add(bucket[1])
                    elsewhere = elsewhere or (layouts.get(bucket[0]) is not None and layouts[bucket[0]].bucketed)
            short = plan.short_of_stock(reasons)
            if short is not None and layouts.get(short[0]) is not None and layouts[short[0]].bucketed:
                # One bucket ran dry under us; the snapshot of the next attempt decides.
                transactions.back_off(0)
                continue
            if short is not None:
                sku_id, requested = short
                raise OutOfStock(
                    "Not enough stock for this quantity.",
                    {"sku_id": sku_id, "requested": requested, "available": _available(sku_id, plan, current)},
                ) from None
            # A hold changed under us, or DynamoDB saw a conflicting transaction: read again.
            logger.info("hold transaction cancelled; retrying", extra={"attempt": attempt, "reasons": reasons})
            transactions.back_off(0 if elsewhere else attempt)
    raise ServiceUnavailable(BUSY)


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
    items: list[dict[str, Any]] = field(default_factory=list)
    # per transaction item: the SKU whose stock it checks, and the requested amount, or None
    stock_checks: list[tuple[str, int] | None] = field(default_factory=list)
    result: dict[tuple[str, str], Hold | None] = field(default_factory=dict)
    requesting_holders: set[str] = field(default_factory=set)
    targets: dict[str, tuple[int, int]] = field(default_factory=dict)  # sku -> (new hold quantity, requested)
    stock_buckets: list[tuple[str, int] | None] = field(default_factory=list)  # per item: the bucket it moves

    def add(self, item: dict[str, Any], stock_check: tuple[str, int] | None = None,
            bucket: tuple[str, int] | None = None) -> None:
        self.items.append(item)
        self.stock_checks.append(stock_check)
        self.stock_buckets.append(bucket)

    def short_of_stock(self, reasons: list[str]) -> tuple[str, int] | None:
        for reason, check in zip(reasons, self.stock_checks, strict=False):
            if reason == "ConditionalCheckFailed" and check is not None:
                return check
        return None


def _plan(changes: list[HoldChange], current: dict[tuple[str, str], Hold],
          layouts: dict[str, stock_buckets.Layout] | None = None, busy: dict[str, set[int]] | None = None) -> _Plan:
    plan = _Plan()
    table = _table()
    layouts = layouts or {}
    # (sku, bucket) -> net movement of that bucket's counters
    reserved_delta: dict[tuple[str, int], int] = defaultdict(int)
    on_hand_delta: dict[tuple[str, int], int] = defaultdict(int)
    requested: dict[str, int] = {}
    hold_items: list[dict[str, Any]] = []
    # what each bucketed SKU's buckets still have for this plan's growths
    free = {sku: {bucket.index: bucket.available for bucket in layout.buckets}
            for sku, layout in layouts.items() if layout.bucketed}
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
            hold_items.append(_delete_hold(table, old))
            hold_items.append(entry_item(
                table, change.sku_id, change.end_kind, reserved_delta=-old_quantity,
                on_hand_delta=-old_quantity if change.end_kind == "commit" else 0,
                holder_id=change.holder_id, hold_id=old.hold_id, end_of_hold=True, bucket=old_bucket,
            ))
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
            hold_items.append(_put_hold(table, hold))
        else:
            hold = Hold(old.hold_id, change.holder_id, change.sku_id, new_quantity, expires_at, bucket)
            hold_items.append(_update_hold(table, old, hold))
        if moved:
            hold_items.append(entry_item(table, change.sku_id, "release", reserved_delta=-old_quantity,
                                         holder_id=change.holder_id, hold_id=hold.hold_id, bucket=old_bucket))
            hold_items.append(entry_item(table, change.sku_id, "reserve", reserved_delta=new_quantity,
                                         holder_id=change.holder_id, hold_id=hold.hold_id, bucket=bucket))
        elif delta:
            hold_items.append(entry_item(
                table, change.sku_id, "reserve" if delta > 0 else "release", reserved_delta=delta,
                holder_id=change.holder_id, hold_id=hold.hold_id, bucket=bucket,
            ))
        plan.result[key] = hold
    for sku_id, bucket in dict.fromkeys(list(reserved_delta) + list(on_hand_delta)):
        item, check = _stock_update(table, sku_id, reserved_delta[(sku_id, bucket)], on_hand_delta[(sku_id, bucket)],
                                    requested.get(sku_id), bucket)
        if item is not None:
            plan.add(item, check, (sku_id, bucket))
    for item in hold_items:
        plan.add(item)
    return plan


def _check_bucketed_stock(changes: list[HoldChange], current: dict[tuple[str, str], Hold],
                          layouts: dict[str, stock_buckets.Layout]) -> None:
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
    home = keys.home_bucket(holder_id, active)
    covering = [index for index in range(active) if free.get(index, 0) >= new_quantity]
    if not covering:
        raise _SplitStock(sku_id)
    idle = [index for index in covering if index not in busy] or covering
    bucket = home if home in idle else random.choice(idle)
    free[bucket] -= new_quantity
    if old_bucket is not None:
        free[old_bucket] = free.get(old_bucket, 0) + new_quantity - delta  # the old units go back there
    return bucket


def _stock_update(
    table: str, sku_id: str, reserved_delta: int, on_hand_delta: int, requested: int | None, bucket: int = 0
) -> tuple[dict[str, Any] | None, tuple[str, int] | None]:
    available_delta = on_hand_delta - reserved_delta
    if reserved_delta == 0 and on_hand_delta == 0:
        return None, None
    conditions = ["attribute_exists(pk)"]
    values: dict[str, Any] = {
        ":r": {"N": str(reserved_delta)},
        ":h": {"N": str(on_hand_delta)},
        ":a": {"N": str(available_delta)},
        ":one": {"N": "1"},
        ":now": {"N": str(int(time.time() * 1000))},
    }
    check = None
    if available_delta < 0:
        conditions.append("available >= :need")
        values[":need"] = {"N": str(-available_delta)}
        check = (sku_id, requested if requested is not None else -available_delta)
    if reserved_delta < 0:
        conditions.append("reserved >= :release")
        values[":release"] = {"N": str(-reserved_delta)}
    update = {
        "TableName": table,
        "Key": keys.bucket_key(sku_id, bucket),
        "UpdateExpression": "SET reserved = reserved + :r, on_hand = on_hand + :h, available = available + :a, "
        "version = version + :one, updated_at = :now",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
    }
    return {"Update": update}, check


def _hold_attributes(hold: Hold) -> dict[str, Any]:
    return {
        "hold_id": {"S": hold.hold_id},
        "holder_id": {"S": hold.holder_id},
        "sku_id": {"S": hold.sku_id},
        "quantity": {"N": str(hold.quantity)},
        "expires_at": {"N": str(hold.expires_at)},
        "bucket": {"N": str(hold.bucket)},
        "gsi1pk": {"S": keys.expiry_shard(hold.holder_id)},
        "gsi1sk": {"S": keys.expiry_sort_key(hold.expires_at)},
    }


def _put_hold(table: str, hold: Hold) -> dict[str, Any]:
    return {"Put": {
        "TableName": table,
        "Item": {**keys.hold_key(hold.sku_id, hold.holder_id), **_hold_attributes(hold)},
        "ConditionExpression": "attribute_not_exists(pk)",
    }}


def _update_hold(table: str, old: Hold, new: Hold) -> dict[str, Any]:
    return {"Update": {
        "TableName": table,
        "Key": keys.hold_key(old.sku_id, old.holder_id),
        "UpdateExpression": "SET quantity = :q, expires_at = :e, gsi1sk = :s, #bucket = :b",
        "ExpressionAttributeNames": {"#bucket": "bucket"},  # a reserved word
        "ConditionExpression": "hold_id = :id AND quantity = :old",
        "ExpressionAttributeValues": {
            ":q": {"N": str(new.quantity)},
            ":e": {"N": str(new.expires_at)},
            ":s": {"S": keys.expiry_sort_key(new.expires_at)},
            ":b": {"N": str(new.bucket)},
            ":id": {"S": old.hold_id},
            ":old": {"N": str(old.quantity)},
        },
    }}


def _delete_hold(table: str, old: Hold) -> dict[str, Any]:
    return {"Delete": {
        "TableName": table,
        "Key": keys.hold_key(old.sku_id, old.holder_id),
        "ConditionExpression": "hold_id = :id AND quantity = :old",
        "ExpressionAttributeValues": {":id": {"S": old.hold_id}, ":old": {"N": str(old.quantity)}},
    }}


def _hold(item: dict[str, Any]) -> Hold:
    return Hold(
        hold_id=item["hold_id"]["S"],
        holder_id=item["holder_id"]["S"],
        sku_id=item["sku_id"]["S"],
        quantity=int(item["quantity"]["N"]),
        expires_at=int(item["expires_at"]["N"]),
        bucket=int(item.get("bucket", {}).get("N", "0")),
    )


# -- expiry -------------------------------------------------------------------------------------


def release_if_expired(hold: Hold, now: int | None = None) -> bool:
    """The sweeper's release: delete the hold only if it is still this hold (same id, quantity and
    bucket) and still due, put its end entry, return the stock to its bucket. False: renewed,
    changed, or already ended by another path."""
    now = int(time.time()) if now is None else now
    table = _table()
    item, _ = _stock_update(table, hold.sku_id, -hold.quantity, 0, None, hold.bucket)
    assert item is not None
    # `hold` comes from the expiry index (up to a GSI's lag old): the stock goes back to the bucket
    # it names, so the condition pins that bucket too (a hold written before buckets has none: 0).
    bucket = "(#bucket = :b OR attribute_not_exists(#bucket))" if hold.bucket == 0 else "#bucket = :b"
    transact = [
        {"Delete": {
            "TableName": table,
            "Key": keys.hold_key(hold.sku_id, hold.holder_id),
            "ConditionExpression": f"hold_id = :id AND quantity = :q AND expires_at <= :now AND {bucket}",
            "ExpressionAttributeNames": {"#bucket": "bucket"},  # a reserved word
            "ExpressionAttributeValues": {":id": {"S": hold.hold_id}, ":q": {"N": str(hold.quantity)}, ":now": {"N": str(now)},
                                          ":b": {"N": str(hold.bucket)}},
        }},
        item,
        entry_item(table, hold.sku_id, "expire", reserved_delta=-hold.quantity, holder_id=hold.holder_id,
                   hold_id=hold.hold_id, end_of_hold=True, bucket=hold.bucket),
    ]
    return _ended(transact)


def release_deleted_hold(hold: Hold) -> bool:
    """The TTL backstop: DynamoDB already deleted the hold (its stream REMOVE record); return its
    stock once. False: this hold's end is already recorded (a redelivered record)."""
    table = _table()
    item, _ = _stock_update(table, hold.sku_id, -hold.quantity, 0, None, hold.bucket)
    assert item is not None
    transact = [
        item,
        entry_item(table, hold.sku_id, "expire", reserved_delta=-hold.quantity, holder_id=hold.holder_id,
                   hold_id=hold.hold_id, end_of_hold=True, bucket=hold.bucket),
    ]
    return _ended(transact)


def _ended(transact: list[dict[str, Any]]) -> bool:
    try:
        transactions.write(transact, on_condition_failed=transactions.ConditionFailed, attempts=MAX_ATTEMPTS, busy_message=BUSY)
    except transactions.ConditionFailed:
        return False  # not due any more, changed, or already ended: nothing to do
    return True


def due_holds(now: int | None = None, limit: int = 500) -> list[Hold]:
    """Holds whose expiry has passed, oldest first per shard (from the sparse expiry index)."""
    now = int(time.time()) if now is None else now
    found: list[Hold] = []
    for shard in range(keys.EXPIRY_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": _table(),
            "IndexName": keys.EXPIRY_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :now",
            "ExpressionAttributeValues": {":p": {"S": f"HOLDS#{shard}"}, ":now": {"S": keys.expiry_sort_key(now)}},
        }
        while len(found) < limit:
            response = connection().client.query(**kwargs)
            found.extend(_hold(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found[:limit]
