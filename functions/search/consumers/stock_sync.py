"""Inventory stream -> the product index: the stock part of each product's document, and so
the `in_stock` filter of GET /search.

Stock items (`pk=SKU#<sku_id>, sk=STOCK`: sku_id, product_id, available, version +1 per change)
and a hot SKU's other buckets (`sk=STOCK#nn`, ADR 0022: any bucket's change re-reads the SKU's sum
over its buckets, at their summed version) become per-SKU stock entries of their product's document, written through
functions/search/writer.py (read, merge, write with optimistic concurrency) because the catalog
indexer writes the same documents:
- a SKU's entry only ever moves to a higher stock version: a redelivered or out-of-order
  record is done without a write;
- the catalog part is kept; `in_stock` is recomputed from the SKUs the product lists;
- a product without a document yet gets a STUB (never searchable) holding the stock, which the
  catalog indexer fills in: no stock change is lost to a product being created meanwhile.
A batch is folded to the newest record per SKU and one write per product. OpenSearch trouble, or
a document that kept changing under us, fails exactly those records in `batchItemFailures`
(Lambda retries them; then the on-failure queue, which ops/replay_failures.py re-drives).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.inventory import api as inventory
from functions.search import mapping, writer
from functions.search.documents import StockChange, from_stock_record, merge_stock
from shared.observability import logger
from shared.stream_batches import apply_in_bulk, partial_batch_response

OK = writer.OK


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, context, sync_records(event.get("Records") or []), "synced stock batch")


def sync_records(records: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """Sequence number -> outcome (None: done, else why not) for Lambda-shaped stream records."""
    sums = _BucketSums()
    return apply_in_bulk(
        records, lambda record: _stock_change(record, sums), apply_stock_changes,
        lambda change: {"product_id": change.product_id, "sku_id": change.sku_id}, "stock",
    )


class _BucketSums:
    """A hot SKU's (ADR 0022) indexed stock is the sum over its buckets at the buckets' summed
    version (what stock_levels, and so the reindex, reads too). Read once per SKU per batch: a
    strongly consistent read after the batch's records were written is at least as new as each."""

    def __init__(self) -> None:
        self._read: dict[str, StockChange | None] = {}

    def of(self, sku_id: str, product_id: str | None = None) -> StockChange | None:
        if sku_id not in self._read:
            levels = inventory.stock_levels([sku_id]).get(sku_id)
            product = product_id if product_id is not None else (inventory.product_of_sku(sku_id) if levels else "")
            self._read[sku_id] = StockChange(product or "", sku_id, *levels) if levels else None
        return self._read[sku_id]


def _stock_change(record: dict[str, Any], sums: _BucketSums) -> StockChange | None:
    bucket = bucket_of_record(record)
    if bucket is None:
        return None  # not a stock item
    if bucket > 0:
        # Another bucket of a hot SKU moved: so did the sum (it names no product: bucket 0 does).
        sku_id = str(((record.get("dynamodb") or {}).get("Keys") or {}).get("pk", {}).get("S", ""))[len("SKU#"):]
        change = sums.of(sku_id)
        if change is None:  # no stock item (any more): bucket 0's own records say what that means
            return None
    else:
        change = from_stock_record(record)
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if change is not None and int(image.get("bucket_items", {}).get("N", "1")) > 1:
            change = sums.of(change.sku_id, change.product_id) or change
    if change is not None and not change.product_id:
        # Written before stock items named their product: no document to put it in. The
        # next reindex reads stock by the catalog's SKU ids and picks it up.
        logger.warning("stock item names no product; not in search until a reindex", extra={"sku_id": change.sku_id})
        return None
    return change


def bucket_of_record(record: dict[str, Any]) -> int | None:
    """The stock bucket a stream record is about (0: the stock item), None: not stock."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    if not str(keys.get("pk", {}).get("S", "")).startswith("SKU#"):
        return None
    return inventory.bucket_of(str(keys.get("sk", {}).get("S", "")))


def apply_stock_changes(changes: Sequence[StockChange], *, index: str = mapping.ALIAS, client: Any = None) -> list[str | None]:
    """Apply stock changes; per change None (done, or already superseded) or the failure reason."""
    newest: dict[str, dict[str, StockChange]] = {}
    for change in changes:
        skus = newest.setdefault(change.product_id, {})
        held = skus.get(change.sku_id)
        if held is None or change.version > held.version:
            skus[change.sku_id] = change
    outcomes = writer.write(
        list(newest), lambda pid, source: merge_stock(source, pid, newest[pid].values()), index=index, client=client
    )
    return [outcomes[change.product_id] for change in changes]
