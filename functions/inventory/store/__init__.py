"""The inventory table: the only code that reads or writes it. Only the inventory service reaches
this table; logic modules (holds, buckets, counters, orders, availability, ...) call this package.

  stock      pk=SKU#<sku_id>  sk=STOCK
             sku_id, product_id, seller_id, on_hand, reserved, available (= on_hand - reserved),
             version (+1 on every change: the availability cache keeps the newest), updated_at
  owner      pk=SKU#<sku_id>  sk=OWNER                     who sells the SKU (ADR 0040): sku_id,
             product_id, seller_id, registered_at, and retired_at once its product is deleted.
             Written by the catalog (through inventory.api) when it creates the SKU, before the
             product; the stock item copies product_id and seller_id from it when first written.
  hold       pk=SKU#<sku_id>  sk=HOLD#<holder_id>          (a reservation; holder = a cart or an order)
             hold_id (new for each hold, so its end is recorded once), holder_id, sku_id, quantity,
             expires_at (epoch seconds, the table's TTL attribute), gsi1pk=HOLDS#<shard>, gsi1sk=<expires_at, 10 digits>
  ledger     pk=SKU#<sku_id>  sk=LEDGER#<ulid>             one per stock movement, in the same transaction
             kind (reserve|release|commit|restock|adjust|expire), on_hand_delta, reserved_delta, holder_id, hold_id, at
  hold end   pk=SKU#<sku_id>  sk=LEDGER#END#<hold_id>      the ledger entry that ends a hold; its
             conditional put is what makes "released exactly once" true across every path
  bucket     pk=SKU#<sku_id>  sk=STOCK#<n>  (n = 1..bucket_items-1) a hot SKU's stock shard (ADR 0022):
             on_hand, reserved, available, version like the stock item, which is bucket 0 and also
             records buckets (active count) and bucket_items (how many exist; draining ones stay
             until empty) and, while bucketed, gsi1pk=HOTSKUS gsi1sk=<sku_id> for the rebalancer.
             A hold records its bucket; every ledger entry records the bucket it moved (absent = 0).
  heartbeat  pk=HEARTBEAT     sk=HEARTBEAT                 at (epoch ms), written by the sweeper: keeps the
             availability cache's watermark moving when no stock does

A hold lives in its SKU's partition, so reserving touches one partition per SKU and "holds of
this SKU" is a Query. `gsi1` (sharded by holder) lists holds by expiry for the sweeper.

The store's face is `InventoryStore`: reads that return plain records (store/records.py) and ONE
write, `transact(ops, also)`, of the operations in store/ops.py (each with its condition). The
inventory's logic gets it from `current()`: the table (store/table.py) in production; tests may
put an in-memory store with the same conditional semantics in its place for their own thread (`using`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from functions.inventory.store.keys import (
    BUCKET_SK_PREFIX,
    EXPIRY_INDEX,
    EXPIRY_SHARDS,
    HEARTBEAT_KEY,
    HOLD_SK_PREFIX,
    HOT_SKUS_PK,
    LEDGER_SK_PREFIX,
    MAX_BUCKETS,
    OWNER_SK,
    STOCK_SK,
    bucket_key,
    bucket_of,
    expiry_shard,
    expiry_sort_key,
    hold_end_key,
    hold_key,
    home_bucket,
    owner_key,
    sku_pk,
    stock_key,
)
from functions.inventory.store.ops import Op
from functions.inventory.store.records import Hold, Layout, Owner


class InventoryStore(Protocol):
    """The inventory table as the inventory's logic sees it."""

    def stock_layouts(self, sku_ids: list[str]) -> dict[str, Layout]:
        """The SKUs that have a stock item, read strongly consistently (a bucketed SKU's buckets
        at one instant); a SKU without one is absent."""
        ...

    def snapshot(self, sku_ids: list[str]) -> dict[str, Layout]:
        """Every SKU asked, each exact (its buckets at one instant); `exists` False without a stock item."""
        ...

    def levels(self, sku_ids: list[str], *, consistent: bool) -> dict[str, tuple[int, int]]:
        """(available, version) summed over each SKU's buckets, for the SKUs that have a stock item."""
        ...

    def product_of(self, sku_id: str) -> str:
        """The product the SKU's stock item names ("" if none)."""
        ...

    def hot_skus(self) -> list[str]:
        """The bucketed SKUs (from an index: may lag)."""
        ...

    def holds_of(self, holder_id: str, sku_ids: list[str]) -> dict[str, Hold]:
        """The holder's holds on these SKUs, by SKU (strongly consistent; expired ones included)."""
        ...

    def due_holds(self, now: int, limit: int) -> list[Hold]:
        """Holds whose expiry is at or before `now` (from an index: may lag; the write decides)."""
        ...

    def end_kind(self, sku_id: str, hold_id: str) -> str | None:
        """How the hold ended (its end entry's kind), None if it has not."""
        ...

    def owners(self, sku_id: str) -> tuple[Owner | None, Owner | None]:
        """(the SKU's owner record, the names on its stock item), strongly consistent."""
        ...

    def register_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> bool:
        """Owner records for new SKUs (a retry by the same owner passes); False if another owns one."""
        ...

    def retire_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> None:
        """The SKUs' product was deleted: their owner records say so (idempotent)."""
        ...

    def transact(self, ops: Sequence[Op], also: Sequence[Any] = ()) -> None:
        """ONE transaction of `ops` and the caller's own items; raises ops.Cancelled / ops.Throttled."""
        ...

    def beat(self) -> None:
        """The heartbeat item, at now."""
        ...


# A test's store, for its own thread (a context variable: the local stack's background threads
# in the same process keep the table). A thread a test starts runs in a copy of its context.
_override: ContextVar[InventoryStore | None] = ContextVar("inventory_store", default=None)
_table: InventoryStore | None = None


def current() -> InventoryStore:
    """The store the logic uses: the DynamoDB table, unless a test put another in its place."""
    global _table
    override = _override.get()
    if override is not None:
        return override
    if _table is None:
        from functions.inventory.store.table import DynamoStore

        _table = DynamoStore()
    return _table


@contextmanager
def using(store: InventoryStore) -> Iterator[InventoryStore]:
    """For tests: the logic uses `store` inside the block, in this context (thread)."""
    token = _override.set(store)
    try:
        yield store
    finally:
        _override.reset(token)

__all__ = [
    "Hold", "InventoryStore", "Layout", "Owner", "current", "using",
    "BUCKET_SK_PREFIX", "EXPIRY_INDEX", "EXPIRY_SHARDS", "HEARTBEAT_KEY", "HOLD_SK_PREFIX", "HOT_SKUS_PK", "LEDGER_SK_PREFIX",
    "MAX_BUCKETS", "OWNER_SK", "STOCK_SK", "bucket_key", "bucket_of", "expiry_shard", "expiry_sort_key", "hold_end_key",
    "hold_key", "home_bucket", "owner_key", "sku_pk", "stock_key",
]
