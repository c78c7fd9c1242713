"""Give every catalog SKU its owner record in the inventory (ADR 0040), once, after deploying it.

    python -m ops.backfill_stock_owners

Needs CATALOG_TABLE_NAME and INVENTORY_TABLE_NAME and credentials that may scan the catalog table
and write the inventory table. The inventory decides who may see and set a SKU's stock from its
own items: the SKU's owner record, else the seller its stock item names. SKUs created before owner
records existed have no record; those whose stock item names its seller work without one, the
others (never stocked, or stocked before stock items named their seller) answer 404 to their
seller until this has run. It walks the catalog's products and, through inventory.api (as the
catalog does), registers the SKUs of live products and retires those of deleted ones. Idempotent:
a record already there is kept; run it again after an interruption.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from typing import Any

from functions.inventory import api as inventory


def products(product_ids: Iterable[str] | None = None) -> Iterator[Any]:
    """Catalog products (all of them, or these), whatever their status."""
    from functions.catalog import store

    if product_ids is None:
        yield from (store.product_from_item(item) for item in store.scan_product_items())
        return
    yield from store.products(sorted(set(product_ids)), consistent=True)


def backfill(product_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Register the SKUs of live products, retire those of deleted ones; returns the counts."""
    report = {"products": 0, "registered": 0, "retired": 0}
    for item in products(product_ids):
        sku_ids = [sku.sku_id for sku in item.skus or []]
        report["products"] += 1
        if item.status == "ACTIVE":
            inventory.register_skus(item.product_id, item.seller_id, sku_ids)
            report["registered"] += len(sku_ids)
        else:
            inventory.retire_skus(item.product_id, item.seller_id, sku_ids)
            report["retired"] += len(sku_ids)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--product", action="append", help="only this product (repeatable)")
    args = parser.parse_args(argv)
    print(json.dumps(backfill(args.product)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
