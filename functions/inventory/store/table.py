"""The inventory store on DynamoDB: InventoryStore (store/__init__.py) over the inventory table,
with the low-level client (shared.tables.connection). Each write is ONE TransactWriteItems."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from functions.inventory.store import heartbeat, holds, owners, stock
from functions.inventory.store.keys import EXPIRY_INDEX
from functions.inventory.store.ledger import entry_item
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
from functions.inventory.store.records import Hold, Layout, Owner
from shared import transactions
from shared.tables import error_code

_ITEMS = {
    MoveStock: stock.move_item,
    CreateStock: stock.create_item,
    SetOnHand: stock.set_on_hand_item,
    PutBucket: stock.put_bucket_item,
    ShiftBucket: stock.shift_item,
    PutHold: holds.put_item,
    UpdateHold: holds.update_item,
    DeleteHold: holds.delete_item,
    Ledger: entry_item,
}


class DynamoStore:
    """The inventory table named by INVENTORY_TABLE_NAME (read when used)."""

    @property
    def table(self) -> str:
        return os.environ["INVENTORY_TABLE_NAME"]

    # -- stock --
    def stock_layouts(self, sku_ids: list[str]) -> dict[str, Layout]:
        return stock.layouts(self.table, sku_ids)

    def snapshot(self, sku_ids: list[str]) -> dict[str, Layout]:
        return stock.snapshot(self.table, sku_ids)

    def levels(self, sku_ids: list[str], *, consistent: bool) -> dict[str, tuple[int, int]]:
        return stock.levels(self.table, sku_ids, consistent=consistent)

    def product_of(self, sku_id: str) -> str:
        return stock.product_of(self.table, sku_id)

    def hot_skus(self) -> list[str]:
        return stock.hot_skus(self.table, EXPIRY_INDEX)

    # -- holds --
    def holds_of(self, holder_id: str, sku_ids: list[str]) -> dict[str, Hold]:
        return holds.holds_of(self.table, holder_id, sku_ids)

    def due_holds(self, now: int, limit: int) -> list[Hold]:
        return holds.due_holds(self.table, now, limit)

    def end_kind(self, sku_id: str, hold_id: str) -> str | None:
        return holds.end_kind(self.table, sku_id, hold_id)

    # -- owners --
    def owners(self, sku_id: str) -> tuple[Owner | None, Owner | None]:
        return owners.read(self.table, sku_id)

    def register_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> bool:
        return owners.register(self.table, product_id, seller_id, sku_ids)

    def retire_owner(self, product_id: str, seller_id: str, sku_ids: list[str]) -> None:
        owners.retire(self.table, product_id, seller_id, sku_ids)

    # -- writes --
    def items(self, ops: Sequence[Op]) -> list[dict[str, Any]]:
        """The TransactItems of `ops`, in order."""
        table = self.table
        return [_ITEMS[type(op)](table, op) for op in ops]  # type: ignore[operator]

    def transact(self, ops: Sequence[Op], also: Sequence[Any] = ()) -> None:
        """Write `ops` and the caller's `also` items in ONE TransactWriteItems. Raises Cancelled
        (reasons per item, ops first) or Throttled; nothing is written then."""
        try:
            # The logic reads again and decides anew on a busy answer (another bucket, a new
            # plan): the executor checks and sends the request, and leaves the retry to it.
            transactions.write([*self.items(ops), *also], retry_busy=False)
        except Exception as exc:  # noqa: BLE001 - classified below
            code = error_code(exc)
            if code == "ThrottlingException":
                raise Throttled() from exc
            if code != "TransactionCanceledException":
                raise
            raise Cancelled(transactions.cancellation_reasons(exc)) from None

    def beat(self) -> None:
        heartbeat.beat(self.table)
