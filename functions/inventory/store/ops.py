"""The inventory store's writes: each one item of ONE transaction, with its condition.

Logic modules say WHAT to write (a list of these, plus the caller's own transaction items, `also`);
the store turns them into TransactWriteItems (store/table.py) or, in tests, applies them to memory
(tests/support/fake_inventory_store.py) under the same conditions:

  MoveStock    counters of one bucket move by deltas: exists, AND available >= what it loses,
               AND reserved >= what it releases; version + 1
  CreateStock  a SKU's stock item, only if it has none (version 1)
  SetOnHand    an absolute on_hand: only at the on_hand read, and never below reserved
  PutBucket    a hot SKU's new bucket item (on_hand = available), only if absent
  ShiftBucket  a bucket's available moves by delta (and bucket 0 records the bucket counts), only
               at the version read
  PutHold      a hold, only if the holder has none on the SKU
  UpdateHold   a hold's quantity, expiry, bucket: only if still the hold (id, quantity) read
  DeleteHold   a hold, only if still the hold read (and with `due_by`: still due then, still in
               its bucket: the sweeper's view may be an index's lag old)
  Ledger       one ledger entry; with `once` (END#<hold_id>, RETURN#<order>#<sku>) only if absent:
               what makes a hold end, or an order's stock return, exactly once

A transaction that fails raises Cancelled (nothing written) with one reason per item, the ops'
first, then `also`'s: "None", "ConditionalCheckFailed", "TransactionConflict", "ThrottlingError"...;
a request refused as a whole for capacity raises Throttled.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.inventory.store.records import Hold

CONDITION_FAILED = "ConditionalCheckFailed"
BUSY_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass(frozen=True)
class MoveStock:
    sku_id: str
    bucket: int
    reserved_delta: int = 0
    on_hand_delta: int = 0

    @property
    def available_delta(self) -> int:
        return self.on_hand_delta - self.reserved_delta


@dataclass(frozen=True)
class CreateStock:
    sku_id: str
    on_hand: int
    product_id: str = ""
    seller_id: str = ""


@dataclass(frozen=True)
class SetOnHand:
    sku_id: str
    old: int
    new: int


@dataclass(frozen=True)
class PutBucket:
    sku_id: str
    index: int
    on_hand: int


@dataclass(frozen=True)
class ShiftBucket:
    sku_id: str
    index: int
    version: int  # the version read: the write applies only there
    delta: int
    counts: tuple[int, int] | None = None  # bucket 0 only: (active buckets, bucket items) to record


@dataclass(frozen=True)
class PutHold:
    hold: Hold


@dataclass(frozen=True)
class UpdateHold:
    old: Hold
    new: Hold


@dataclass(frozen=True)
class DeleteHold:
    hold: Hold
    due_by: int | None = None  # the sweeper's release: only if expires_at <= due_by, in hold.bucket


@dataclass(frozen=True)
class Ledger:
    sku_id: str
    kind: str  # restock | adjust | reserve | release | commit | expire | transfer | return | rebalance
    on_hand_delta: int = 0
    reserved_delta: int = 0
    holder_id: str = ""
    hold_id: str = ""
    bucket: int = 0
    once: str = ""  # the entry's own key (LEDGER#<once>), put only if absent; "" = a new entry


def end_of_hold(hold: Hold, kind: str, *, on_hand_delta: int = 0) -> Ledger:
    """The entry that ends `hold` (LEDGER#END#<hold_id>): put once, whichever path comes first."""
    return Ledger(hold.sku_id, kind, on_hand_delta=on_hand_delta, reserved_delta=-hold.quantity, holder_id=hold.holder_id,
                  hold_id=hold.hold_id, bucket=hold.bucket, once=f"END#{hold.hold_id}")


Op = MoveStock | CreateStock | SetOnHand | PutBucket | ShiftBucket | PutHold | UpdateHold | DeleteHold | Ledger


class Cancelled(Exception):
    """The transaction was cancelled and wrote nothing; `reasons` has one code per item."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    @property
    def condition_failed(self) -> bool:
        return CONDITION_FAILED in self.reasons

    @property
    def busy(self) -> bool:
        """Refused only for capacity or a conflicting transaction in flight: the same request may be sent again."""
        return not self.condition_failed and any(reason in BUSY_REASONS for reason in self.reasons)


class Throttled(Exception):
    """DynamoDB refused the whole request for capacity; nothing was written."""
