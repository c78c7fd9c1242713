"""The inventory table's items. Only the inventory service reads or writes this table.

  stock      pk=SKU#<sku_id>  sk=STOCK
             sku_id, product_id, seller_id, on_hand, reserved, available (= on_hand - reserved),
             version (+1 on every change: the availability cache keeps the newest), updated_at
  hold       pk=SKU#<sku_id>  sk=HOLD#<holder_id>          (a reservation; holder = a cart or an order)
             hold_id (new for each hold, so its end is recorded once), holder_id, sku_id, quantity,
             expires_at (epoch seconds, the table's TTL attribute), gsi1pk=HOLDS#<shard>, gsi1sk=<expires_at, 10 digits>
  ledger     pk=SKU#<sku_id>  sk=LEDGER#<ulid>             one per stock movement, in the same transaction
             kind (reserve|release|commit|restock|adjust|expire), on_hand_delta, reserved_delta, holder_id, hold_id, at
  hold end   pk=SKU#<sku_id>  sk=LEDGER#END#<hold_id>      the ledger entry that ends a hold; its
             conditional put is what makes "released exactly once" true across every path
  heartbeat  pk=HEARTBEAT     sk=HEARTBEAT                 at (epoch ms), written by the sweeper: keeps the
             availability cache's watermark moving when no stock does

A hold lives in its SKU's partition, so reserving touches one partition per SKU and "holds of
this SKU" is a Query. `gsi1` (sharded by holder) lists holds by expiry for the sweeper.
"""

from __future__ import annotations

import zlib

STOCK_SK = "STOCK"
HOLD_SK_PREFIX = "HOLD#"
LEDGER_SK_PREFIX = "LEDGER#"
HEARTBEAT_KEY = {"pk": {"S": "HEARTBEAT"}, "sk": {"S": "HEARTBEAT"}}
EXPIRY_INDEX = "gsi1"
EXPIRY_SHARDS = 8  # spreads the sweeper's index across partitions; it queries every shard


def sku_pk(sku_id: str) -> str:
    return f"SKU#{sku_id}"


def stock_key(sku_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": STOCK_SK}}


def hold_key(sku_id: str, holder_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": f"{HOLD_SK_PREFIX}{holder_id}"}}


def hold_end_key(sku_id: str, hold_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": f"{LEDGER_SK_PREFIX}END#{hold_id}"}}


def expiry_shard(holder_id: str) -> str:
    return f"HOLDS#{zlib.crc32(holder_id.encode()) % EXPIRY_SHARDS}"


def expiry_sort_key(expires_at: int) -> str:
    return f"{expires_at:010d}"
