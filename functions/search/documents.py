"""The one translation from catalog data to the search index: a stream record or a catalog
item becomes "index this document at version V" or "delete this product at version V".

Both the stream indexer and the ops commands (reindex, replay) go through `from_item` /
`from_stream_record`, so the index looks the same whichever path wrote it.

The document is denormalised for a results page and its facets: it carries no SKU ids, stock
or seller names. The catalog's `version` (grows by one on every write) is the document's
external version, so OpenSearch itself refuses a write older than what it holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

PRODUCT_SK = "PRODUCT"
PRODUCT_PK_PREFIX = "PRODUCT#"
ACTIVE = "ACTIVE"
MAX_SUGGEST_INPUTS = 6


class UntranslatableRecord(ValueError):
    """A product record the indexer cannot turn into a document (reported, never skipped)."""


@dataclass(frozen=True)
class IndexAction:
    product_id: str
    op: Literal["index", "delete"]
    # external version; None only for a delete whose version is unknowable (a REMOVE without
    # an old image, or a product that no longer exists in the table)
    version: int | None
    document: dict[str, Any] | None = field(default=None, compare=False)


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
    """The search document of an ACTIVE product item."""
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
        "version": _int(item["version"]),
        "suggest": {"input": _suggest_inputs(title, brand), "weight": min(rating_count, 1_000_000) + 1},
    }
    if "in_stock" in item:  # projected by inventory one day; absent means "unknown", not "no"
        document["in_stock"] = bool(item["in_stock"])
    return document


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
