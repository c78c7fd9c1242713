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
  bucket     pk=SKU#<sku_id>  sk=STOCK#<n>  (n = 1..bucket_items-1) a hot SKU's stock shard (ADR 0022):
             on_hand, reserved, available, version like the stock item, which is bucket 0 and also
             records buckets (active count) and bucket_items (how many exist; draining ones stay
             until empty) and, while bucketed, gsi1pk=HOTSKUS gsi1sk=<sku_id> for the rebalancer.
             A hold records its bucket; every ledger entry records the bucket it moved (absent = 0).
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
BUCKET_SK_PREFIX = "STOCK#"
HOT_SKUS_PK = "HOTSKUS"  # gsi1 partition listing the bucketed SKUs (for the rebalancer)
MAX_BUCKETS = 32


def sku_pk(sku_id: str) -> str:
    return f"SKU#{sku_id}"


def stock_key(sku_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": STOCK_SK}}


def bucket_key(sku_id: str, bucket: int) -> dict[str, dict[str, str]]:
    """Bucket 0 is the stock item itself: an unbucketed SKU is exactly what it always was."""
    sk = STOCK_SK if bucket == 0 else f"{BUCKET_SK_PREFIX}{bucket:02d}"
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": sk}}


def bucket_of(sk: str) -> int | None:
    """The bucket index of a stock-family sort key (None: not a stock item)."""
    if sk == STOCK_SK:
        return 0
    if sk.startswith(BUCKET_SK_PREFIX) and sk[len(BUCKET_SK_PREFIX):].isdigit():
        return int(sk[len(BUCKET_SK_PREFIX):])
    return None


def home_bucket(holder_id: str, buckets: int) -> int:
    """Where a holder's reservation tries first: spreads concurrent shoppers over the buckets."""
    return zlib.crc32(f"bucket:{holder_id}".encode()) % max(1, buckets)


def hold_key(sku_id: str, holder_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": f"{HOLD_SK_PREFIX}{holder_id}"}}


def hold_end_key(sku_id: str, hold_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": f"{LEDGER_SK_PREFIX}END#{hold_id}"}}


def expiry_shard(holder_id: str) -> str:
    return f"HOLDS#{zlib.crc32(holder_id.encode()) % EXPIRY_SHARDS}"


def expiry_sort_key(expires_at: int) -> str:
    return f"{expires_at:010d}"
