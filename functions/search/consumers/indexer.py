"""Catalog stream -> the product index: the catalog part of each product's document.

Each batch is folded to the newest catalog record per product and written through
functions/search/writer.py (read, merge, write with optimistic concurrency), because the stock
sync (functions/search/consumers/stock_sync.py) writes the same documents:
- a redelivered or out-of-order record never overwrites a newer catalog part: the document's
  `catalog_version` is at least as new, so there is nothing to write, and the record is done;
- the stock part is kept; a product indexed for the first time (or a SKU added) gets the stock
  of its new SKUs read from the inventory table first (one BatchGetItem), so it is right from
  its first appearance;
- a soft delete (status DELETED) leaves a tombstone at its own version, a REMOVE at old
  version + 1, so a stale update arriving after a delete is refused, however late.
Any other per-item error, OpenSearch being unreachable, or a document that kept changing under
us, fails exactly those records in `batchItemFailures`: Lambda retries from the first of them,
and after the mapping's retries the batch goes to the on-failure queue (ops/replay_failures.py
re-drives it). Nothing is swallowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from functions.search import mapping, writer
from functions.search.documents import IndexAction, StockLevel, from_stream_record, merge_catalog, skus_to_read
from shared.observability import logger
from shared.stream_batches import apply_in_bulk, partial_batch_response

OK = writer.OK  # an outcome: None = done, else the reason it failed
StockReader = Callable[[list[str]], "dict[str, StockLevel]"]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, context, index_records(event.get("Records") or []), "indexed catalog batch")


def index_records(records: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """Sequence number -> outcome (None: done, else why not) for Lambda-shaped stream records."""
    return apply_in_bulk(
        records, from_stream_record, apply_actions,
        lambda action: {"product_id": action.product_id, "op": action.op}, "catalog",
    )


def apply_actions(
    actions: Sequence[IndexAction], *, index: str = mapping.ALIAS, client: Any = None, read_stock: StockReader | None = None
) -> list[str | None]:
    """Apply catalog changes; per action None (done, or already superseded) or the failure reason.

    `read_stock` ({sku_id: (available, version)} of the SKUs that have a stock item) defaults to
    the inventory service's strongly consistent batch read. Never raises for OpenSearch trouble.
    """
    newest: dict[str, IndexAction] = {}
    for action in actions:
        held = newest.get(action.product_id)
        if held is None or action.catalog_version > held.catalog_version:
            newest[action.product_id] = action
    levels: dict[str, StockLevel] = {}

    def prepare(current: dict[str, writer.Current]) -> None:
        # Read again in every round: a SKU's stock must be at least as new as the document the
        # merge lands on (another writer may have changed it since the last round).
        wanted = sorted({sku for pid, doc in current.items() for sku in skus_to_read(doc.source, newest[pid])})
        levels.clear()
        if wanted:
            levels.update((read_stock or _read_stock)(wanted))

    outcomes = writer.write(
        list(newest), lambda pid, source: merge_catalog(source, newest[pid], levels), prepare=prepare, index=index, client=client
    )
    return [outcomes[action.product_id] for action in actions]


def _read_stock(sku_ids: list[str]) -> dict[str, StockLevel]:
    from functions.inventory import api as inventory

    return inventory.stock_levels(sku_ids, consistent=True)
