"""In-memory stores for the inventory's and the cart's logic, with DynamoDB's conditional semantics.

`FakeInventoryStore` implements functions.inventory.store.InventoryStore and `FakeCartStore`
functions.cart.store.CartStore. A transaction checks every condition against the state before
it, writes nothing if one fails (Cancelled, one reason per item, ops first, then `also`), else
applies them all; an item may appear once per transaction (DynamoDB's ValidationException).
The cart's write builders return `FakeWrite`s, which the inventory's fake evaluates inside the
same transaction as its own ops (what DynamoDB does with the cart's items in `also`).

`fail_next(reasons)` makes the next transaction fail as DynamoDB would under load (a transaction
in flight, capacity): the retry paths of the logic run against the same state.

Use with functions.inventory.store.using / functions.cart.store.using (this thread only).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from functions.cart.store import Cart, CartRef, Line, LineWrites
from functions.inventory.store.ops import (
    Cancelled,
    CreateStock,
    DeleteHold,
    Ledger,
    MoveStock,
    Op,
    PutBucket,
    PutHold,
    SetOnHand,
    ShiftBucket,
    Throttled,
    UpdateHold,
)
from functions.inventory.store.records import Bucket, Hold, Layout, Owner

TRANSACTION_LIMIT = 100
CONDITION_FAILED = "ConditionalCheckFailed"


class DuplicateItem(ValueError):
    """Two operations of one transaction on one item (DynamoDB refuses the whole request)."""


@dataclass
class FakeWrite:
    """A transaction item of another store (the cart's), for the inventory fake's `also`."""

    key: tuple[Any, ...]
    condition: Callable[[], bool]
    effect: Callable[[], None]


# -- inventory ----------------------------------------------------------------------------------


@dataclass
class StockItem:
    on_hand: int
    reserved: int = 0
    version: int = 1
    product_id: str = ""
    seller_id: str = ""
    active: int = 1  # bucket 0 only: `buckets`
    items: int = 1  # bucket 0 only: `bucket_items`

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass
class LedgerEntry:
    sku_id: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    bucket: int
    holder_id: str
    hold_id: str
    once: str


@dataclass
class FakeInventoryStore:
    stock: dict[tuple[str, int], StockItem] = field(default_factory=dict)  # (sku, bucket) -> item
    holds: dict[tuple[str, str], Hold] = field(default_factory=dict)  # (sku, holder) -> hold
    ledger: list[LedgerEntry] = field(default_factory=list)
    owner_records: dict[str, Owner] = field(default_factory=dict)
    heartbeat: int = 0
    transactions: int = 0  # committed
    cancelled: int = 0
    _faults: list[list[str] | None] = field(default_factory=list)  # next transactions' injected failures
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # a transaction is atomic across threads

    # -- set up --
    def put_stock(self, sku_id: str, on_hand: int, product_id: str = "", seller_id: str = "") -> None:
        self.stock[(sku_id, 0)] = StockItem(on_hand, product_id=product_id, seller_id=seller_id)
        if on_hand:
            self.ledger.append(LedgerEntry(sku_id, "restock", on_hand, 0, 0, "", "", ""))

    def fail_next(self, reasons: list[str] | None = None, times: int = 1) -> None:
        """The next `times` transactions are refused: `reasons` (one code for each of its items,
        the first busy; None: "TransactionConflict" on the first item) or, with [], Throttled."""
        self._faults.extend([reasons] * times)

    # -- reads --
    def _layout(self, sku_id: str) -> Layout | None:
        stock = self.stock.get((sku_id, 0))
        if stock is None:
            return None
        buckets = tuple(Bucket(index, item.on_hand, item.reserved, item.available, item.version)
                        for index in range(stock.items) if (item := self.stock.get((sku_id, index))) is not None)
        return Layout(sku_id, stock.active, buckets)

    def stock_layouts(self, sku_ids: list[str]) -> dict[str, Layout]:
        return {sku: layout for sku in dict.fromkeys(sku_ids) if (layout := self._layout(sku)) is not None}

    def snapshot(self, sku_ids: list[str]) -> dict[str, Layout]:
        return {sku: self._layout(sku) or Layout(sku, 1, (), exists=False) for sku in dict.fromkeys(sku_ids)}

    def levels(self, sku_ids: list[str], *, consistent: bool) -> dict[str, tuple[int, int]]:
        return {sku: (layout.available, layout.version) for sku, layout in self.stock_layouts(sku_ids).items()}

    def product_of(self, sku_id: str) -> str:
        stock = self.stock.get((sku_id, 0))
        return stock.product_id if stock else ""

    def hot_skus(self) -> list[str]:
        return [sku for (sku, index), item in self.stock.items() if index == 0 and item.items > 1]

    def holds_of(self, holder_id: str, sku_ids: list[str]) -> dict[str, Hold]:
        return {sku: self.holds[(sku, holder_id)] for sku in dict.fromkeys(sku_ids) if (sku, holder_id) in self.holds}

    def due_holds(self, now: int, limit: int) -> list[Hold]:
        return sorted((hold for hold in self.holds.values() if hold.expires_at <= now), key=lambda hold: hold.expires_at)[:limit]

    def end_kind(self, sku_id: str, hold_id: str) -> str | None:
        return next((entry.kind for entry in self.ledger if entry.sku_id == sku_id and entry.once == f"END#{hold_id}"), None)

    def owners(self, sku_id: str) -> tuple[Owner | None, Owner | None]:
        stock = self.stock.get((sku_id, 0))
        return self.owner_records.get(sku_id), (Owner(sku_id, stock.product_id, stock.seller_id) if stock else None)

    def register_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> bool:
        for sku in sku_ids:
            record = self.owner_records.get(sku)
            if record is not None and (record.product_id, record.seller_id, record.retired) != (product_id, seller_id, False):
                return False
        for sku in sku_ids:
            self.owner_records.setdefault(sku, Owner(sku, product_id, seller_id))
        return True

    def retire_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> None:
        for sku in sku_ids:
            self.owner_records[sku] = replace(self.owner_records.get(sku) or Owner(sku, product_id, seller_id), retired=True)

    def beat(self) -> None:
        self.heartbeat = int(time.time() * 1000)

    # -- the transaction --
    def transact(self, ops: Sequence[Op], also: Sequence[Any] = ()) -> None:
        with self._lock:
            self._transact(ops, also)

    def _transact(self, ops: Sequence[Op], also: Sequence[Any]) -> None:
        items = len(ops) + len(also)
        if items > TRANSACTION_LIMIT:
            raise ValueError(f"{items} items: more than one transaction takes")
        keys = [_key(op) for op in ops] + [write.key for write in also]
        if len(set(keys)) != len(keys):
            raise DuplicateItem(f"one item twice in a transaction: {sorted(map(str, keys))}")
        if self._faults:
            fault = self._faults.pop(0)
            if fault == []:
                raise Throttled()
            self.cancelled += 1
            raise Cancelled(fault or ["TransactionConflict"] + ["None"] * (items - 1))
        reasons = ["None" if self._holds(op) else CONDITION_FAILED for op in ops]
        reasons += ["None" if write.condition() else CONDITION_FAILED for write in also]
        if CONDITION_FAILED in reasons:
            self.cancelled += 1
            raise Cancelled(reasons)
        for op in ops:
            self._apply(op)
        for write in also:
            write.effect()
        self.transactions += 1

    def _holds(self, op: Op) -> bool:
        """The op's condition, on the state before the transaction."""
        if isinstance(op, MoveStock):
            item = self.stock.get((op.sku_id, op.bucket))
            return (item is not None and (op.available_delta >= 0 or item.available >= -op.available_delta)
                    and (op.reserved_delta >= 0 or item.reserved >= -op.reserved_delta))
        if isinstance(op, CreateStock):
            return (op.sku_id, 0) not in self.stock
        if isinstance(op, SetOnHand):
            item = self.stock.get((op.sku_id, 0))
            return item is not None and item.on_hand == op.old and item.reserved <= op.new
        if isinstance(op, PutBucket):
            return (op.sku_id, op.index) not in self.stock
        if isinstance(op, ShiftBucket):
            item = self.stock.get((op.sku_id, op.index))
            return item is not None and item.version == op.version
        if isinstance(op, PutHold):
            return (op.hold.sku_id, op.hold.holder_id) not in self.holds
        if isinstance(op, UpdateHold):
            hold = self.holds.get((op.old.sku_id, op.old.holder_id))
            return hold is not None and (hold.hold_id, hold.quantity) == (op.old.hold_id, op.old.quantity)
        if isinstance(op, DeleteHold):
            hold = self.holds.get((op.hold.sku_id, op.hold.holder_id))
            if hold is None or (hold.hold_id, hold.quantity) != (op.hold.hold_id, op.hold.quantity):
                return False
            return op.due_by is None or (hold.expires_at <= op.due_by and hold.bucket == op.hold.bucket)
        if isinstance(op, Ledger):
            return not op.once or all(entry.once != op.once or entry.sku_id != op.sku_id for entry in self.ledger)
        raise TypeError(op)

    def _apply(self, op: Op) -> None:
        if isinstance(op, MoveStock):
            item = self.stock[(op.sku_id, op.bucket)]
            item.reserved += op.reserved_delta
            item.on_hand += op.on_hand_delta
            item.version += 1
        elif isinstance(op, CreateStock):
            self.stock[(op.sku_id, 0)] = StockItem(op.on_hand, product_id=op.product_id, seller_id=op.seller_id)
        elif isinstance(op, SetOnHand):
            item = self.stock[(op.sku_id, 0)]
            item.on_hand = op.new
            item.version += 1
        elif isinstance(op, PutBucket):
            self.stock[(op.sku_id, op.index)] = StockItem(op.on_hand)
        elif isinstance(op, ShiftBucket):
            item = self.stock[(op.sku_id, op.index)]
            item.on_hand += op.delta
            item.version += 1
            if op.counts is not None:
                item.active, item.items = op.counts
        elif isinstance(op, PutHold):
            self.holds[(op.hold.sku_id, op.hold.holder_id)] = op.hold
        elif isinstance(op, UpdateHold):
            self.holds[(op.old.sku_id, op.old.holder_id)] = op.new
        elif isinstance(op, DeleteHold):
            del self.holds[(op.hold.sku_id, op.hold.holder_id)]
        elif isinstance(op, Ledger):
            self.ledger.append(LedgerEntry(op.sku_id, op.kind, op.on_hand_delta, op.reserved_delta, op.bucket, op.holder_id,
                                           op.hold_id, op.once))

    # -- what tests check --
    def counters(self, sku_id: str) -> dict[str, int]:
        layout = self._layout(sku_id)
        assert layout is not None, sku_id
        return {"on_hand": layout.on_hand, "reserved": layout.reserved, "available": layout.available}

    def problems(self) -> list[str]:
        """Every stock invariant, per bucket: never negative, on_hand = available + reserved (by
        construction here), reserved = the live holds in it, the ledger reconciles; a hold ends once."""
        found = []
        held: dict[tuple[str, int], int] = defaultdict(int)
        for hold in self.holds.values():
            held[(hold.sku_id, hold.bucket)] += hold.quantity
            if hold.quantity <= 0:
                found.append(f"hold {hold.hold_id} of {hold.quantity}")
        ledger_on_hand: dict[tuple[str, int], int] = defaultdict(int)
        ledger_reserved: dict[tuple[str, int], int] = defaultdict(int)
        for entry in self.ledger:
            ledger_on_hand[(entry.sku_id, entry.bucket)] += entry.on_hand_delta
            ledger_reserved[(entry.sku_id, entry.bucket)] += entry.reserved_delta
        for key, item in self.stock.items():
            if item.available < 0 or item.reserved < 0 or item.on_hand < 0:
                found.append(f"{key}: negative {item}")
            if item.reserved != held[key]:
                found.append(f"{key}: reserved {item.reserved}, holds {held[key]}")
            if (ledger_on_hand[key], ledger_reserved[key]) != (item.on_hand, item.reserved):
                found.append(f"{key}: ledger {ledger_on_hand[key]}/{ledger_reserved[key]}, item {item.on_hand}/{item.reserved}")
        for key in held:
            if key not in self.stock:
                found.append(f"{key}: holds without a stock item")
        ends = [entry.once for entry in self.ledger if entry.once]
        if len(ends) != len(set(ends)):
            found.append("an end entry twice")
        return found


def _key(op: Op) -> tuple[Any, ...]:
    if isinstance(op, MoveStock | ShiftBucket):
        return ("stock", op.sku_id, op.bucket if isinstance(op, MoveStock) else op.index)
    if isinstance(op, CreateStock | SetOnHand):
        return ("stock", op.sku_id, 0)
    if isinstance(op, PutBucket):
        return ("stock", op.sku_id, op.index)
    if isinstance(op, PutHold | DeleteHold):
        return ("hold", op.hold.sku_id, op.hold.holder_id)
    if isinstance(op, UpdateHold):
        return ("hold", op.old.sku_id, op.old.holder_id)
    if isinstance(op, Ledger):
        return ("ledger", op.sku_id, op.once or f"new#{next(_entries)}")
    raise TypeError(op)


_entries = itertools.count()


# -- cart ---------------------------------------------------------------------------------------


@dataclass
class Header:
    owner: str
    version: int
    expires_at: int
    holds_until: int | None = None


@dataclass
class StoredCart:
    header: Header | None = None
    lines: dict[str, tuple[Line, int]] = field(default_factory=dict)  # sku -> (line, expires_at)
    cleared: set[str] = field(default_factory=set)
    claim: tuple[str, int] | None = None  # (order_id, expires_at)


@dataclass
class FakeCartStore:
    carts: dict[str, StoredCart] = field(default_factory=lambda: defaultdict(StoredCart))

    def load(self, ref: CartRef) -> Cart:
        now = int(time.time())
        stored = self.carts[ref.cart_id]
        cart = Cart(ref)
        header = stored.header
        if header is None or header.expires_at <= now or header.owner != ref.owner:
            return cart
        cart.exists, cart.version, cart.holds_until = True, header.version, header.holds_until
        cart.lines = {sku: replace(line, options=dict(line.options)) for sku, (line, expires) in stored.lines.items() if expires > now}
        return cart

    def writes(self, cart: Cart, lines: LineWrites, expires_at: int, holds_until: int | None) -> list[Any]:
        stored = self.carts[cart.ref.cart_id]
        now = int(time.time())

        def header_condition() -> bool:
            if cart.exists:
                return stored.header is not None and stored.header.version == cart.version
            return stored.header is None or stored.header.expires_at <= now

        def header_effect() -> None:
            keep = stored.header.holds_until if cart.exists and stored.header else None
            stored.header = Header(cart.ref.owner, cart.version + 1, expires_at,
                                   keep if keep is not None else holds_until)

        writes = [FakeWrite(("cart", cart.ref.cart_id, "CART"), header_condition, header_effect)]
        for sku in cart.lines:
            if not lines.touches(sku):
                writes.append(self._line_write(stored, cart.ref, sku, lambda line, _: line, expires_at))
        for sku in lines.delete:
            writes.append(FakeWrite(("cart", cart.ref.cart_id, sku), lambda: True,
                                    lambda sku=sku: stored.lines.pop(sku, None)))  # type: ignore[misc]
        for sku, quantity in lines.quantities.items():
            writes.append(self._line_write(stored, cart.ref, sku, lambda line, q: replace(line, quantity=q), expires_at, quantity))
        for sku, line in lines.put.items():
            writes.append(FakeWrite(("cart", cart.ref.cart_id, sku), lambda: True,
                                    lambda sku=sku, line=line: stored.lines.__setitem__(sku, (line, expires_at))))  # type: ignore[misc]
        return writes

    @staticmethod
    def _line_write(stored: StoredCart, ref: CartRef, sku: str, change: Callable[[Line, int], Line], expires_at: int,
                    quantity: int = 0) -> FakeWrite:
        def effect() -> None:
            if sku in stored.lines:  # DynamoDB would create a key-only item; none of our paths update a missing line
                stored.lines[sku] = (change(stored.lines[sku][0], quantity), expires_at)

        return FakeWrite(("cart", ref.cart_id, sku), lambda: True, effect)

    def take_line(self, cart: Cart, sku_id: str) -> list[Any]:
        stored = self.carts[cart.ref.cart_id]

        def bump() -> None:
            assert stored.header is not None
            stored.header.version = cart.version + 1

        return [
            FakeWrite(("cart", cart.ref.cart_id, sku_id), lambda: True, lambda: stored.lines.pop(sku_id, None)),  # type: ignore[arg-type,return-value]
            FakeWrite(("cart", cart.ref.cart_id, "CART"),
                      lambda: stored.header is not None and stored.header.version == cart.version, bump),
        ]

    def delete_header(self, cart: Cart) -> None:
        stored = self.carts[cart.ref.cart_id]
        if stored.header is not None and stored.header.version == cart.version:
            stored.header = None

    def set_added_price(self, ref: CartRef, sku_id: str, price: int) -> None:
        stored = self.carts[ref.cart_id]
        if sku_id in stored.lines:
            line, expires = stored.lines[sku_id]
            stored.lines[sku_id] = (replace(line, added_price=price), expires)

    def cleared(self, ref: CartRef, order_id: str) -> bool:
        return order_id in self.carts[ref.cart_id].cleared

    def cleared_marker(self, ref: CartRef, order_id: str, expires_at: int) -> Any:
        stored = self.carts[ref.cart_id]
        return FakeWrite(("cart", ref.cart_id, f"CLEARED#{order_id}"), lambda: order_id not in stored.cleared,
                         lambda: stored.cleared.add(order_id))

    def claim_write(self, cart_id: str, order_id: str, expires_at: int) -> Any:
        stored = self.carts[cart_id]
        now = int(time.time())
        return FakeWrite(("cart", cart_id, "CHECKOUT"),
                         lambda: stored.claim is None or stored.claim[0] == order_id or stored.claim[1] <= now,
                         lambda: setattr(stored, "claim", (order_id, expires_at)))

    def claim_holder(self, cart_id: str) -> str | None:
        claim = self.carts[cart_id].claim
        return claim[0] if claim and claim[1] > time.time() else None

    def release_claim(self, cart_id: str, order_id: str) -> None:
        stored = self.carts[cart_id]
        if stored.claim and stored.claim[0] == order_id:
            stored.claim = None
