"""Rebuild the search index from the catalog table, with zero downtime.

    python -m ops.search_reindex [--grace-seconds 5] [--keep-old]

Needs CATALOG_TABLE_NAME, INVENTORY_TABLE_NAME, SEARCH_URL (and SEARCH_AUTH=sigv4 in AWS) and
credentials that may scan the catalog table, batch-read the inventory table and manage
`products*` indices. Steps:

1. create `products-v<N+1>` (and its write alias) with the current settings and mappings;
2. copy every product into it through the same merge as the stream writers
   (functions/search/documents.py): ACTIVE products with the stock of their SKUs (read from
   the inventory table, strongly consistent, one BatchGetItem per 100 SKUs), soft-deleted ones
   as tombstones;
3. swap the `products` alias to it in one atomic call: searches see the old index, then the
   new one, never neither;
4. catch up: the stream writers (catalog indexer and stock sync) kept writing to the OLD index
   until the swap, so scan the table again and apply whatever changed since step 2 (new or
   updated products, soft deletes, and products hard-deleted meanwhile), then read the stock of
   every live product's SKUs again and merge it; field-level versions make this race-free
   against the writers, which write to the new index from the swap on;
5. after a grace period (searches already running on the old index finish), delete the old one.

If anything fails before the swap, the new index is deleted and nothing changed. A failure
after the swap leaves the new index serving; run the command again (it is idempotent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from functions.search import mapping
from functions.search.client import get_client
from functions.search.consumers.indexer import apply_actions
from functions.search.consumers.stock_sync import apply_stock_changes
from functions.search.documents import IndexAction, StockChange, deserialize_image, from_item

BATCH = 500
Log = Callable[[str], None]


class ReindexFailed(RuntimeError):
    pass


@dataclass
class ReindexReport:
    old_indices: list[str]
    new_index: str
    copied: int = 0  # products copied before the swap (live ones, and tombstones of deleted ones)
    caught_up: int = 0  # changes applied after the swap
    removed: int = 0  # products that disappeared from the table during the copy
    stock_refreshed: int = 0  # live products whose stock was read again after the swap
    seconds: float = 0.0
    deleted_old: list[str] = field(default_factory=list)


# -- reading the catalog (through the catalog's own store) ---------------------------------


def scan_products(*, active_only: bool, changed_between: tuple[Any, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Catalog product items as plain Python, the same values a stream image carries."""
    from functions.catalog import store

    for item in store.scan_product_items(active_only=active_only, changed_between=changed_between):
        # the item's DynamoDB JSON is exactly a stream image: one translator for both paths
        yield deserialize_image(item)


def get_products(product_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Current table state of these products (missing ones are absent), read consistently:
    "absent" must mean deleted, not "written a moment ago"."""
    from functions.catalog import store

    found: dict[str, dict[str, Any]] = {}
    for item in store.product_items(sorted(set(product_ids)), consistent=True):
        product = deserialize_image(item)
        found[product["product_id"]] = product
    return found


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write(client: Any, index: str, actions: list[IndexAction]) -> None:
    """Apply catalog actions to one index; raise if any failed (already newer = done = fine)."""
    failures = [(a.product_id, reason) for a, reason in zip(actions, apply_actions(actions, index=index, client=client), strict=True) if reason]
    if failures:
        raise ReindexFailed(f"{len(failures)} of {len(actions)} writes to {index} failed, e.g. {failures[:3]}")


def refresh_stock(client: Any, index: str, products: dict[str, list[str]]) -> int:
    """Read the stock of these products' SKUs ({product_id: sku_ids}) and merge it into their
    documents (newer versions only); raise if any write failed. Returns how many products."""
    from functions.inventory.stock import stock_levels

    done = 0
    for batch in _chunks(sorted(products.items()), BATCH):
        levels = stock_levels([sku for _, skus in batch for sku in skus], consistent=True)
        changes = [StockChange(pid, sku, *levels[sku]) for pid, skus in batch for sku in skus if sku in levels]
        outcomes = apply_stock_changes(changes, index=index, client=client)
        failures = [(c.product_id, reason) for c, reason in zip(changes, outcomes, strict=True) if reason]
        if failures:
            raise ReindexFailed(f"{len(failures)} of {len(changes)} stock writes to {index} failed, e.g. {failures[:3]}")
        done += len(batch)
    return done


def _sku_ids(action: IndexAction) -> list[str]:
    return list((action.document or {}).get("sku_ids") or []) if action.op == "index" else []


# -- the command ------------------------------------------------------------------------------


def reindex(*, client: Any = None, grace_seconds: float = 5.0, keep_old: bool = False, log: Log = print) -> ReindexReport:
    started = time.monotonic()
    client = client or get_client()
    new = mapping.next_index_name(client)
    client.indices.create(index=new, body=mapping.index_body(new, with_alias=False))
    report = ReindexReport(old_indices=mapping.indices_behind_alias(client), new_index=new)
    log(f"created {new}; copying products (with their stock) from the catalog and inventory tables")

    copied: dict[str, int] = {}  # product id -> version copied
    try:
        # All products, not only ACTIVE ones: a deleted product's tombstone keeps refusing stale
        # records of it in the new index too.
        for batch in _chunks(scan_products(active_only=False), BATCH):
            actions = [from_item(item) for item in batch]
            write(client, new, actions)
            copied.update({a.product_id: a.catalog_version for a in actions})
        client.indices.refresh(index=new)
        # Re-read who is behind the alias right before swapping: whatever it is, it goes.
        old = mapping.indices_behind_alias(client)
        swap = [{"remove": {"index": name, "alias": mapping.ALIAS}} for name in old]
        swap.append({"add": {"index": new, "alias": mapping.ALIAS}})
        client.indices.update_aliases(body={"actions": swap})
        report.old_indices = old
    except BaseException:
        client.indices.delete(index=new, ignore_unavailable=True)  # nothing changed for readers
        raise
    report.copied = len(copied)
    log(f"copied {report.copied} products; alias {mapping.ALIAS!r} now -> {new} (was {old or 'nothing'})")

    report.caught_up, report.removed, report.stock_refreshed = _catch_up(client, new, copied)
    client.indices.refresh(index=new)
    log(
        f"caught up {report.caught_up} changes, removed {report.removed} products deleted meanwhile, "
        f"refreshed the stock of {report.stock_refreshed} products"
    )

    if not keep_old and old:
        time.sleep(grace_seconds)  # let searches already running on the old index finish
        for name in old:
            client.indices.delete(index=name, ignore_unavailable=True)
        report.deleted_old = old
        log(f"deleted {', '.join(old)}")
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _catch_up(client: Any, index: str, copied: dict[str, int]) -> tuple[int, int, int]:
    """Apply what changed between the copy and the swap (the stream writers wrote those to the
    old index): catalog changes, products gone from the table, and the stock of live products."""
    seen: set[str] = set()
    live: dict[str, list[str]] = {}  # product id -> its SKUs, for the stock pass
    changes = 0
    pending: list[IndexAction] = []
    for item in scan_products(active_only=False):
        action = from_item(item)
        seen.add(action.product_id)
        if action.op == "index":
            live[action.product_id] = _sku_ids(action)
        if copied.get(action.product_id) == action.catalog_version:
            continue  # unchanged since the copy
        pending.append(action)
        if len(pending) >= BATCH:
            write(client, index, pending)
            changes += len(pending)
            pending = []
    if pending:
        write(client, index, pending)
        changes += len(pending)
    # Copied, and now not in the table at all: hard-deleted during the copy (ids are never reused).
    vanished = [IndexAction(pid, "delete", None) for pid in sorted(set(copied) - seen)]
    for batch in _chunks(vanished, BATCH):
        write(client, index, batch)
    # Stock changed during the copy went to the old index: read every live product's stock again
    # (after the swap, so anything committed before it is in the read; anything later reaches
    # the new index through the stock sync). Newer versions only: nothing regresses.
    refreshed = refresh_stock(client, index, live)
    return changes, len(vanished), refreshed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.search_reindex", description=__doc__.split("\n\n")[0])
    parser.add_argument("--grace-seconds", type=float, default=5.0, help="wait before deleting the old index (default 5)")
    parser.add_argument("--keep-old", action="store_true", help="keep the old index (delete it yourself later)")
    args = parser.parse_args(argv)
    try:
        report = reindex(grace_seconds=args.grace_seconds, keep_old=args.keep_old, log=lambda m: print(m, file=sys.stderr))
    except Exception as exc:
        print(f"reindex failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
