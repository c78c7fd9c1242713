"""What the inventory store reads: holds, stock buckets and layouts, owners (plain values)."""

from __future__ import annotations

import time
from dataclasses import dataclass


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
class Bucket:
    """One stock item of a SKU (bucket 0 is the stock item itself; ADR 0022)."""

    index: int
    on_hand: int
    reserved: int
    available: int
    version: int


@dataclass(frozen=True)
class Layout:
    """A SKU's buckets at one instant (a serializable snapshot when bucketed)."""

    sku_id: str
    active: int  # reservations pick among buckets 0..active-1
    buckets: tuple[Bucket, ...]  # every bucket item that exists (draining ones beyond `active`)
    exists: bool = True

    @property
    def bucketed(self) -> bool:
        return len(self.buckets) > 1

    @property
    def available(self) -> int:
        return sum(bucket.available for bucket in self.buckets)

    @property
    def reserved(self) -> int:
        return sum(bucket.reserved for bucket in self.buckets)

    @property
    def on_hand(self) -> int:
        return sum(bucket.on_hand for bucket in self.buckets)

    @property
    def version(self) -> int:
        """Grows with every change of any bucket (each bucket's version only grows): the
        availability cache and the search index keep the newest sum by it."""
        return sum(bucket.version for bucket in self.buckets)


@dataclass(frozen=True)
class Owner:
    """Who sells a SKU, as one inventory item says: its owner record, or its stock item (whose
    seller_id is "" when it was written without one)."""

    sku_id: str
    product_id: str
    seller_id: str
    retired: bool = False  # the owner record of a SKU whose product was deleted
