"""Inventory stream -> the product index: the stock part of each product's document, and so
the `in_stock` filter of GET /search.

Stock items (`pk=SKU#<sku_id>, sk=STOCK`: sku_id, product_id, available, version +1 per change)
become per-SKU stock entries of their product's document, written through
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
    return apply_in_bulk(
        records, _stock_change, apply_stock_changes,
        lambda change: {"product_id": change.product_id, "sku_id": change.sku_id}, "stock",
    )


def _stock_change(record: dict[str, Any]) -> StockChange | None:
    change = from_stock_record(record)  # None: not a stock item
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if change is not None and int(image.get("bucket_items", {}).get("N", "1")) > 1:
        # A hot SKU (ADR 0022): the stock item is bucket 0 of several; index their sum, at the
        # buckets' summed version (what stock_levels, and so the reindex, reads too).
        from functions.inventory.stock import stock_levels

        available, version = stock_levels([change.sku_id]).get(change.sku_id, (change.available, change.version))
        change = StockChange(change.product_id, change.sku_id, available, version)
    if change is not None and not change.product_id:
        # Written before stock items named their product: no document to put it in. The
        # next reindex reads stock by the catalog's SKU ids and picks it up.
        logger.warning("stock item names no product; not in search until a reindex", extra={"sku_id": change.sku_id})
        return None
    return change


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
