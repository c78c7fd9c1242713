"""The inventory table's keys: which item lives where (the layout is in store/__init__.py)."""

from __future__ import annotations

import zlib

STOCK_SK = "STOCK"
HOLD_SK_PREFIX = "HOLD#"
LEDGER_SK_PREFIX = "LEDGER#"
OWNER_SK = "OWNER"
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


def owner_key(sku_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": sku_pk(sku_id)}, "sk": {"S": OWNER_SK}}


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
