"""The one translation from catalog and inventory data to search documents.

Two writers touch a product's document: the catalog stream (title, prices, facets... ) and the
inventory stream (stock per SKU). Each part carries its own version, so each writer can tell
whether its change is newer than what the document holds, whatever order the streams deliver
in (docs/decisions/0010-search-document-concurrency.md):

  catalog_version   the catalog item's `version` (+1 on every product write)
  sku_ids           the SKUs the product lists at that version
  stock             {sku_id: {"available": n, "version": v}}: each SKU's stock item at its `version`
  in_stock          any SKU of sku_ids with available > 0 (derived from the two above)

A document is in one of three states, and only ACTIVE ones are ever searchable (queries filter
on `status`):
  ACTIVE            the catalog part of a live product, plus its stock
  DELETED           a tombstone: the product was (soft or hard) deleted at catalog_version; a
                    stale catalog record (lower version) can never bring the product back
  STUB              stock arrived before the product's first catalog record was indexed; the
                    catalog writer fills it in (and keeps the stock)

`merge_catalog` / `merge_stock` are pure: current document + change -> new document, or None
when the change is not newer. functions/search/writer.py applies them with optimistic
concurrency; the stream indexer, the stock sync and the ops commands all go through them, so
the index looks the same whichever path wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

PRODUCT_SK = "PRODUCT"
PRODUCT_PK_PREFIX = "PRODUCT#"
STOCK_SK = "STOCK"
SKU_PK_PREFIX = "SKU#"
ACTIVE = "ACTIVE"
DELETED = "DELETED"
STUB = "STUB"
MAX_SUGGEST_INPUTS = 6
# The catalog version of a delete whose version is unknowable (a REMOVE without an old image, or
# a product gone from the table): ids are never reused, so nothing may ever outrank it.
FINAL_VERSION = 2**62

StockLevel = tuple[int, int]  # (available, version) of one SKU's stock item


class UntranslatableRecord(ValueError):
    """A product record the indexer cannot turn into a document (reported, never skipped)."""


@dataclass(frozen=True)
class IndexAction:
    """A catalog change: the product's catalog part at `version`, or its deletion."""

    product_id: str
    op: Literal["index", "delete"]
    # None only for a delete whose version is unknowable (-> FINAL_VERSION)
    version: int | None
    document: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def catalog_version(self) -> int:
        return FINAL_VERSION if self.version is None else self.version


@dataclass(frozen=True)
class StockChange:
    """An inventory change: one SKU's available stock at its stock item's `version`."""

    product_id: str
    sku_id: str
    available: int
    version: int


# -- DynamoDB attribute values -> Python --------------------------------------------------------


def deserialize_image(image: Mapping[str, Any] | None) -> dict[str, Any]:
    """A DynamoDB-JSON image ({"title": {"S": "..."}}) as plain Python (numbers as Decimal)."""
    if not image:
        return {}
    from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in image.items()}


def is_product_key(keys: Mapping[str, Any]) -> bool:
    return keys.get("sk") == PRODUCT_SK and str(keys.get("pk", "")).startswith(PRODUCT_PK_PREFIX)


def from_stream_record(record: Mapping[str, Any]) -> IndexAction | None:
    """What a catalog stream record (Lambda's event shape) means for the index; None: not a product."""
    ddb = record.get("dynamodb") or {}
    keys = deserialize_image(ddb.get("Keys"))
    if not is_product_key(keys):
        return None  # categories, slug claims...: not searchable
    if record.get("eventName") == "REMOVE":
        old = deserialize_image(ddb.get("OldImage"))
        product_id = str(old.get("product_id") or str(keys["pk"])[len(PRODUCT_PK_PREFIX) :])
        # The removal is newer than the last write it removed: version + 1 outranks that write
        # and anything older, and is outranked by nothing that could still arrive.
        version = _int(old["version"]) + 1 if "version" in old else None
        return IndexAction(product_id, "delete", version)
    new = deserialize_image(ddb.get("NewImage"))
    if not new:
        raise UntranslatableRecord(f"{record.get('eventName')} record without NewImage (is the stream NEW_AND_OLD_IMAGES?)")
    return from_item(new)


def from_item(item: Mapping[str, Any]) -> IndexAction:
    """What a catalog product item (plain Python values) means for the index."""
    product_id = item.get("product_id")
    if not product_id or "version" not in item:
        raise UntranslatableRecord(f"product item without product_id/version: {item.get('pk')!r}")
    version = _int(item["version"])
    if item.get("status", ACTIVE) != ACTIVE:  # soft-deleted (or any future non-public state)
        return IndexAction(str(product_id), "delete", version)
    return IndexAction(str(product_id), "index", version, to_document(item))


def to_document(item: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog part of an ACTIVE product's document (merge_catalog adds the stock part)."""
    skus = [sku for sku in item.get("skus") or [] if isinstance(sku, Mapping)]
    prices = [_int(sku["price"]) for sku in skus if sku.get("price") is not None]
    currencies = [str(sku["currency"]) for sku in skus if sku.get("currency")]
    rating_count = _int(item.get("rating_count") or 0)
    rating_sum = Decimal(str(item.get("rating_sum") or 0))
    category_id = str(item.get("category_id") or "")
    path = [str(c) for c in item.get("category_path") or []] or ([category_id] if category_id else [])
    images = [str(i) for i in item.get("images") or []]
    title = str(item.get("title") or "")
    brand = str(item.get("brand") or "")
    document: dict[str, Any] = {
        "product_id": str(item["product_id"]),
        "title": title,
        "description": str(item.get("description") or ""),
        "brand": brand,
        "category_id": category_id,
        "category_path": path,
        "colors": _option_values(skus, "color"),
        "sizes": _option_values(skus, "size"),
        "price_min": min(prices) if prices else None,
        "price_max": max(prices) if prices else None,
        "currency": currencies[0] if currencies else None,
        # 0 for unrated products: they sort after every rated one, and sort values stay numbers
        "rating_avg": float(round(rating_sum / rating_count, 2)) if rating_count else 0.0,
        "rating_count": rating_count,
        "image": images[0] if images else None,
        "seller_id": str(item.get("seller_id") or ""),
        "created_at": _iso_utc(item.get("created_at")),
        "status": ACTIVE,
        "catalog_version": _int(item["version"]),
        "sku_ids": list(dict.fromkeys(str(sku["sku_id"]) for sku in skus if sku.get("sku_id"))),
        "suggest": {"input": _suggest_inputs(title, brand), "weight": min(rating_count, 1_000_000) + 1},
    }
    return document


# -- inventory stream records -------------------------------------------------------------------


def is_stock_key(keys: Mapping[str, Any]) -> bool:
    return keys.get("sk") == STOCK_SK and str(keys.get("pk", "")).startswith(SKU_PK_PREFIX)


def from_stock_record(record: Mapping[str, Any]) -> StockChange | None:
    """What an inventory stream record means for the index; None: not a stock item.

    A REMOVE (no stock item any more) is "0 available" at the old version + 1, outranking the
    write it removed. A stock item without product_id (written before stock items named their
    product) gives product_id "": no document can be found for it (stock_sync.py).
    """
    ddb = record.get("dynamodb") or {}
    keys = deserialize_image(ddb.get("Keys"))
    if not is_stock_key(keys):
        return None
    sku_id = str(keys["pk"])[len(SKU_PK_PREFIX) :]
    if record.get("eventName") == "REMOVE":
        image = deserialize_image(ddb.get("OldImage"))
        if not image:
            raise UntranslatableRecord("stock REMOVE without OldImage (is the stream NEW_AND_OLD_IMAGES?)")
        available, version = 0, _int(image.get("version", 0)) + 1
    else:
        image = deserialize_image(ddb.get("NewImage"))
        if not image:
            raise UntranslatableRecord(f"{record.get('eventName')} stock record without NewImage")
        available, version = max(0, _int(image.get("available", 0))), _int(image.get("version", 0))
    return StockChange(str(image.get("product_id") or ""), sku_id, available, version)


# -- merging a change into the current document ---------------------------------------------


def catalog_version(document: Mapping[str, Any] | None) -> int:
    """The catalog version a document holds; -1 when it has no catalog part (none yet, a stub)."""
    if document is None:
        return -1
    # "version": documents written before field-level versions (external versioning) had only that
    value = document.get("catalog_version", document.get("version"))
    return -1 if value is None else int(value)


def skus_to_read(current: Mapping[str, Any] | None, action: IndexAction) -> list[str]:
    """The SKUs whose stock the catalog writer must read before merging `action` into `current`:
    those the new catalog part lists and the current ACTIVE document did not (a new product, a
    SKU added, a stub, a tombstone or an old document being filled in). The others' stock is
    already in the document and kept current by the stock sync."""
    if action.op != "index" or catalog_version(current) >= action.catalog_version:
        return []
    known = set(current.get("sku_ids") or []) if current is not None and current.get("status") == ACTIVE else set()
    return [sku for sku in (action.document or {}).get("sku_ids") or [] if sku not in known]


def merge_catalog(
    current: Mapping[str, Any] | None, action: IndexAction, levels: Mapping[str, StockLevel]
) -> dict[str, Any] | None:
    """The document after a catalog change, or None if the document already holds this catalog
    version or a newer one. `levels` holds (at least) the stock read for skus_to_read()."""
    if catalog_version(current) >= action.catalog_version:
        return None
    stock = _stock(current)
    if action.op == "delete":
        return {"product_id": action.product_id, "status": DELETED, "catalog_version": action.catalog_version, "stock": stock}
    document = dict(action.document or {})
    document["catalog_version"] = action.catalog_version
    sku_ids = document.setdefault("sku_ids", [])
    for sku_id in sku_ids:
        if sku_id in levels:
            _take_if_newer(stock, sku_id, *levels[sku_id])
    # Only the SKUs the product lists now: a removed SKU's stock no longer counts (and a SKU
    # added again is read again, see skus_to_read).
    document["stock"] = {sku_id: stock[sku_id] for sku_id in sku_ids if sku_id in stock}
    document["in_stock"] = in_stock(document)
    return document


def merge_stock(current: Mapping[str, Any] | None, product_id: str, changes: Iterable[StockChange]) -> dict[str, Any] | None:
    """The document after stock changes of one product, or None if none of them is newer than
    what it holds. Without a document yet, a STUB holds the stock until the catalog part comes.

    Every newer change is recorded, even for a SKU the document does not list (yet): the write
    is also what makes a concurrent catalog writer that read the stock before this change
    conflict and merge again (writer.py), instead of writing the older stock over it.
    """
    document = dict(current) if current is not None else {"product_id": product_id, "status": STUB}
    stock = _stock(current)
    changed = False
    for change in changes:
        changed |= _take_if_newer(stock, change.sku_id, change.available, change.version)
    if not changed:
        return None
    document["stock"] = stock
    if document.get("status") == ACTIVE and "sku_ids" in document:  # documents from before sku_ids: unknown
        document["in_stock"] = in_stock(document)
    return document


def in_stock(document: Mapping[str, Any]) -> bool:
    stock = document.get("stock") or {}
    return any(int((stock.get(sku_id) or {}).get("available", 0)) > 0 for sku_id in document.get("sku_ids") or [])


def _stock(document: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    return {sku: dict(entry) for sku, entry in ((document or {}).get("stock") or {}).items()}


def _take_if_newer(stock: dict[str, dict[str, int]], sku_id: str, available: int, version: int) -> bool:
    held = stock.get(sku_id)
    if held is not None and int(held.get("version", -1)) >= version:
        return False
    stock[sku_id] = {"available": int(available), "version": int(version)}
    return True


def _option_values(skus: list[Mapping[str, Any]], name: str) -> list[str]:
    values: set[str] = set()
    for sku in skus:
        options = sku.get("options") or {}
        for key, value in options.items():
            if str(key).strip().lower() == name and value is not None and str(value).strip():
                values.add(str(value).strip().lower())
    return sorted(values)


def _suggest_inputs(title: str, brand: str) -> list[str]:
    """Completion inputs: the title, the brand, and the title from each later word on, so
    "cot" suggests "Blue Cotton T-Shirt" (the completion suggester matches prefixes only)."""
    words = re.split(r"\s+", title.strip())
    inputs = [title.strip(), brand.strip()]
    inputs += [" ".join(words[i:]) for i in range(1, len(words))]
    seen: set[str] = set()
    unique = []
    for text in inputs:
        if text and text.lower() not in seen:
            seen.add(text.lower())
            unique.append(text[:50])  # the completion field's max_input_length
    return unique[:MAX_SUGGEST_INPUTS]


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise UntranslatableRecord(f"not a number: {value!r}")
    try:
        number = Decimal(str(value))
    except Exception:
        raise UntranslatableRecord(f"not a number: {value!r}") from None
    if number != number.to_integral_value():
        raise UntranslatableRecord(f"not an integer: {value!r}")
    return int(number)


def _iso_utc(value: Any) -> str | None:
    """pynamodb stores "2026-11-22T10:00:00.000000+0000"; the index wants strict ISO 8601 UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise UntranslatableRecord(f"not a timestamp: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
