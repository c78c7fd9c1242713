"""The catalog table. Only the catalog service reads or writes it (the reviews service through
catalog.api). Key design (docs/decisions/0003-table-design.md):

  category       pk=CATEGORY                       sk=CATEGORY#<category_id>
                 category_id, name, slug, parent_id (absent for a root), created_at, created_by
  slug claim     pk=CATEGORY_SLUG#<parent>#<slug>  sk=CATEGORY_SLUG   category_id (uniqueness among siblings)
  product        pk=PRODUCT#<product_id>           sk=PRODUCT
                 gsi1: CATEGORY#<category_id> / <created_at>#<product_id>   (list by category)
                 gsi2: SELLER#<seller_id>     / <created_at>#<product_id>   (list by seller)
  review         pk=PRODUCT#<product_id>  sk=REVIEW#<review_id>         (rev_<ULID>: newest first = query backwards)
  hidden review  pk=PRODUCT#<product_id>  sk=HIDDEN_REVIEW#<review_id>  (withdrawn: unlisted, not rated)
  reviewer claim pk=PRODUCT#<product_id>  sk=REVIEWER#<user_id>         review_id (one review per user per product)

All categories share one partition: the tree is small, read whole, and cached. A product and its
SKUs are one item, so a product page is one read and a change is one stream record; `version`
grows by one on every write: the search index keeps it as the document's `catalog_version`, so a
late or redelivered record never overwrites a newer one. Reviews live in their product's
partition; the rating aggregate (`rating_sum`, `rating_count`) moves in the transaction that
writes a review (functions/catalog/store/reviews.py, the reviews' part of this store).

The items were written by pynamodb models before (ADR 0048); they look the same written here, and
the catalog stream (search, the product cache) carries the same images: the same attribute names
in the same order (a product: its key, then by name; the others by name; a schemaless map as
given), datetimes as strings in pynamodb's UTC
format (shared/attributes.py), no attribute for an unset value (never NULL), a SKU map with its
set fields only, lists and maps written even when empty. tests/unit/test_catalog_store_compatibility.py
writes each item with the old model and reads it here, and the other way round.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import transactions
from shared.attributes import from_attrs, from_utc_string, to_attr, to_item, to_utc_string
from shared.tables import connection, is_condition_failure

CATEGORY_PARTITION = "CATEGORY"
ROOT = "ROOT"
PRODUCT_SK = "PRODUCT"
REVIEW_PREFIX = "REVIEW#"
HIDDEN_REVIEW_PREFIX = "HIDDEN_REVIEW#"


def table() -> str:
    """The table's name, read when used (a module imported early still follows its environment)."""
    return os.environ.get("CATALOG_TABLE_NAME", "catalog")


def _client() -> Any:
    return connection().client


def _sorted(values: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attribute values in pynamodb's order (by name), unset ones left out."""
    return to_item(dict(sorted(values.items())))


def _query_items(request: dict[str, Any], limit: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Query pages until `limit` items (all, if None), as pynamodb's query(limit=, page_size=)
    read them: (the items, the key to go on from). When the last page had more items than were
    taken, the key is the last taken item's (`key_names`: the table's and the index's keys);
    otherwise it is DynamoDB's LastEvaluatedKey (None: nothing more)."""
    items: list[dict[str, Any]] = []
    key_names = ["pk", "sk"] + ([f"{request['IndexName']}pk", f"{request['IndexName']}sk"] if "IndexName" in request else [])
    while True:
        response = _client().query(**request)
        page = response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        for position, item in enumerate(page):
            items.append(item)
            if limit is not None and len(items) >= limit:
                if position < len(page) - 1:
                    return items, {name: item[name] for name in key_names}
                return items, last
        if not last:
            return items, None
        request = {**request, "ExclusiveStartKey": last}


# -- categories -----------------------------------------------------------------------------------


def category_key(category_id: str) -> dict[str, Any]:
    return {"pk": {"S": CATEGORY_PARTITION}, "sk": {"S": f"CATEGORY#{category_id}"}}


def slug_claim_key(parent_id: str | None, slug: str) -> dict[str, Any]:
    return {"pk": {"S": f"CATEGORY_SLUG#{parent_id or ROOT}#{slug}"}, "sk": {"S": "CATEGORY_SLUG"}}


@dataclass(frozen=True)
class Category:
    category_id: str
    name: str
    slug: str
    created_at: datetime
    created_by: str
    parent_id: str | None = None  # None: a root


def category_item(category: Category) -> dict[str, Any]:
    """The category's item, as it is written (a root has no `parent_id` attribute)."""
    return _sorted({
        **{name: value["S"] for name, value in category_key(category.category_id).items()},
        "category_id": category.category_id, "name": category.name, "slug": category.slug, "parent_id": category.parent_id,
        "created_at": to_utc_string(category.created_at), "created_by": category.created_by,
    })


def slug_claim_item(category: Category) -> dict[str, Any]:
    return _sorted({**{name: value["S"] for name, value in slug_claim_key(category.parent_id, category.slug).items()},
                    "category_id": category.category_id})  # fmt: skip


def _category(item: dict[str, Any]) -> Category:
    plain = from_attrs(item)
    return Category(category_id=plain["category_id"], name=plain["name"], slug=plain["slug"], parent_id=plain.get("parent_id"),
                    created_at=from_utc_string(plain["created_at"]), created_by=plain["created_by"])  # fmt: skip


def categories(*, consistent: bool, limit: int | None = None) -> list[Category]:
    """The categories (at most `limit`), in the order of their ids."""
    request: dict[str, Any] = {
        "TableName": table(), "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": CATEGORY_PARTITION}},
        "ConsistentRead": consistent,
    }
    if limit is not None:
        request["Limit"] = limit
    items, _ = _query_items(request, limit)
    return [_category(item) for item in items]


def put_new_category(category: Category, *, slug_taken: Callable[[], BaseException],
                     parent_missing: Callable[[], BaseException]) -> None:  # fmt: skip
    """One transaction: the category, its sibling-unique slug claim, and (under a parent) a check
    that the parent exists. A missing parent raises `parent_missing()` (it wins), a slug a sibling
    holds `slug_taken()`; a conflicting transaction is sent again (shared/transactions.py)."""
    ops = [
        transactions.Put(table(), category_item(category), condition="attribute_not_exists(pk)"),
        transactions.Put(table(), slug_claim_item(category), condition="attribute_not_exists(pk)", on_condition_failed=slug_taken),
    ]
    if category.parent_id:
        ops.insert(0, transactions.ConditionCheck(table(), category_key(category.parent_id), "attribute_exists(pk)",
                                                  on_condition_failed=parent_missing))  # fmt: skip
    transactions.write(ops)


# -- products -------------------------------------------------------------------------------------


def product_key(product_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": PRODUCT_SK}}


@dataclass(frozen=True)
class Sku:
    sku_id: str
    options: dict[str, str]  # {"size": "M", "color": "blue"}
    price: int  # minor units
    currency: str
    max_per_cart: int | None = None  # None (absent): DEFAULT_MAX_PER_CART (functions/catalog/skus.py)


@dataclass(frozen=True)
class Product:
    product_id: str
    seller_id: str
    title: str
    brand: str
    category_id: str
    created_at: datetime
    updated_at: datetime
    gsi1pk: str
    gsi1sk: str
    gsi2pk: str
    gsi2sk: str
    seller_name: str = ""
    description: str = ""
    category_path: list[str] = field(default_factory=list)  # root ... leaf ids
    attributes: dict[str, Any] = field(default_factory=dict)  # schemaless, per product type
    images: list[str] = field(default_factory=list)
    skus: list[Sku] = field(default_factory=list)
    free: bool = False  # marked free by its seller: its SKUs' price is 0
    status: str = "ACTIVE"  # ACTIVE | DELETED (soft delete)
    version: int = 1
    rating_sum: int = 0
    rating_count: int = 0


def sku_value(sku: Sku) -> dict[str, Any]:
    """A SKU's map attribute value: its set fields only, by name; options as given."""
    return {"M": _sorted({"sku_id": sku.sku_id, "options": dict(sku.options), "price": sku.price, "currency": sku.currency,
                          "max_per_cart": sku.max_per_cart})}  # fmt: skip


def _value(name: str, value: Any) -> dict[str, Any]:
    """A product attribute's value as it is written."""
    if name == "skus":
        return {"L": [sku_value(sku) for sku in value]}
    if isinstance(value, datetime):
        return {"S": to_utc_string(value)}
    if name in ("category_path", "images"):
        return {"L": [{"S": text} for text in value]}
    return to_attr(value)


def product_item(product: Product) -> dict[str, Any]:
    """The product's item, as it is written: its key first, then the rest by name (the PutItem
    pynamodb's `save` sent)."""
    values = {
        "entity": "product",
        "product_id": product.product_id, "seller_id": product.seller_id, "seller_name": product.seller_name,
        "title": product.title, "description": product.description, "brand": product.brand, "category_id": product.category_id,
        "category_path": product.category_path, "attributes": product.attributes, "images": product.images,
        "skus": product.skus, "free": product.free, "status": product.status, "version": product.version,
        "rating_sum": product.rating_sum, "rating_count": product.rating_count, "created_at": product.created_at,
        "updated_at": product.updated_at, "gsi1pk": product.gsi1pk, "gsi1sk": product.gsi1sk, "gsi2pk": product.gsi2pk,
        "gsi2sk": product.gsi2sk,
    }
    return {**product_key(product.product_id), **{name: _value(name, value) for name, value in sorted(values.items()) if value is not None}}


def _sku(plain: dict[str, Any]) -> Sku:
    return Sku(sku_id=plain["sku_id"], options=dict(plain.get("options") or {}), price=plain["price"], currency=plain["currency"],
               max_per_cart=plain.get("max_per_cart"))  # fmt: skip


def product_from_item(item: dict[str, Any]) -> Product:
    """A product from its item (a table read, or a stream image)."""
    plain = from_attrs(item)
    optional = {name: plain[name] for name in ("seller_name", "description", "free", "status", "version", "rating_sum", "rating_count")
                if plain.get(name) is not None}  # fmt: skip
    return Product(
        product_id=plain["product_id"], seller_id=plain["seller_id"], title=plain["title"], brand=plain["brand"],
        category_id=plain["category_id"], created_at=from_utc_string(plain["created_at"]), updated_at=from_utc_string(plain["updated_at"]),
        gsi1pk=plain["gsi1pk"], gsi1sk=plain["gsi1sk"], gsi2pk=plain["gsi2pk"], gsi2sk=plain["gsi2sk"],
        category_path=list(plain.get("category_path") or []), attributes=dict(plain.get("attributes") or {}),
        images=list(plain.get("images") or []), skus=[_sku(sku) for sku in plain.get("skus") or []], **optional,
    )


def put_new_product(product: Product) -> None:
    """Write the product, which must not exist (a failed condition raises: ids are new)."""
    _client().put_item(TableName=table(), Item=product_item(product), ConditionExpression="attribute_not_exists(pk)")


def get_product(product_id: str, *, consistent: bool = True) -> Product | None:
    """The product item, whatever its status (None: no such item)."""
    item = _client().get_item(TableName=table(), Key=product_key(product_id), ConsistentRead=consistent).get("Item")
    return product_from_item(item) if item else None


def _update_product(product_id: str, sets: Mapping[str, Any], condition: str, values: Mapping[str, Any]) -> Product | None:
    """SET `sets`, ADD 1 to `version`, if `condition` holds: the product as it is now (None: the
    condition failed). Attribute names through placeholders (`status` is a reserved word)."""
    names = {f"#s{i}": name for i, name in enumerate(sets)} | {"#version": "version", "#status": "status"}
    attribute_values = {f":s{i}": _value(name, value) for i, (name, value) in enumerate(sets.items())}
    attribute_values |= {":one": {"N": "1"}, **{name: to_attr(value) for name, value in values.items()}}
    expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))) + " ADD #version :one"
    try:
        response = _client().update_item(
            TableName=table(), Key=product_key(product_id), UpdateExpression=expression, ConditionExpression=condition,
            ExpressionAttributeNames=names, ExpressionAttributeValues=attribute_values, ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return None
        raise
    return product_from_item(response["Attributes"])


def update_product(product_id: str, sets: Mapping[str, Any], *, version: int) -> Product | None:
    """SET `sets` (attribute name -> value: a datetime, a list of Sku, or a plain value) and +1
    version, if the product is still ACTIVE at `version` (optimistic: two editors never silently
    undo each other). The product as it is now, or None if it changed meanwhile."""
    return _update_product(product_id, sets, "#version = :version AND #status = :active", {":version": version, ":active": "ACTIVE"})


def soft_delete_product(product_id: str, at: datetime) -> Product | None:
    """DELETED, +1 version, `updated_at` = `at`, if it is ACTIVE: the product as it is now (None: it was not)."""
    return _update_product(product_id, {"status": "DELETED", "updated_at": at}, "#status = :active", {":active": "ACTIVE"})


def product_page(index: str, partition: str, limit: int, start: dict[str, Any] | None) -> tuple[list[Product], dict[str, Any] | None]:
    """ACTIVE products of `partition` on `index` (gsi1: by category, gsi2: by seller), newest
    first, at most `limit`, from `start`: (the products, the key to go on from, None at the end)."""
    request: dict[str, Any] = {
        "TableName": table(), "IndexName": index, "KeyConditionExpression": "#partition = :partition",
        "FilterExpression": "#status = :active", "ExpressionAttributeNames": {"#partition": f"{index}pk", "#status": "status"},
        "ExpressionAttributeValues": {":partition": {"S": partition}, ":active": {"S": "ACTIVE"}}, "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        request["ExclusiveStartKey"] = start
    items, last = _query_items(request, limit)
    return [product_from_item(item) for item in items], last


MAX_BATCH = 100


def product_items(product_ids: list[str], *, consistent: bool) -> Iterator[dict[str, Any]]:
    """The items of these products that exist (any status), ONE BatchGetItem per 100, in no order."""
    name = table()
    for start in range(0, len(product_ids), MAX_BATCH):
        request: dict[str, Any] = {name: {"Keys": [product_key(pid) for pid in product_ids[start : start + MAX_BATCH]],
                                          "ConsistentRead": consistent}}  # fmt: skip
        while request:
            response = _client().batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(name, [])
            request = response.get("UnprocessedKeys") or {}


def products(product_ids: list[str], *, consistent: bool) -> list[Product]:
    """These products as they are (any status; missing ones absent), in no order."""
    return [product_from_item(item) for item in product_items(product_ids, consistent=consistent)]


def scan_product_items(*, active_only: bool = False, changed_between: tuple[datetime, datetime] | None = None) -> Iterator[dict[str, Any]]:
    """Every product item (ACTIVE ones only, or changed in a time range, if asked): a scan, for
    the operators' tools (re-index, backfills)."""
    condition, names, values = "sk = :product", {}, {":product": {"S": PRODUCT_SK}}
    if active_only:
        condition += " AND #status = :active"
        names["#status"], values[":active"] = "status", {"S": "ACTIVE"}
    if changed_between is not None:
        condition += " AND updated_at BETWEEN :from AND :to"
        values[":from"], values[":to"] = ({"S": to_utc_string(moment)} for moment in changed_between)
    request: dict[str, Any] = {"TableName": table(), "FilterExpression": condition, "ExpressionAttributeValues": values}
    if names:
        request["ExpressionAttributeNames"] = names
    while True:
        response = _client().scan(**request)
        yield from response.get("Items", [])
        if not response.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# -- reviews (their transactions: functions/catalog/store/reviews.py) -------------------------------


def review_key(product_id: str, review_id: str, prefix: str = REVIEW_PREFIX) -> dict[str, Any]:
    return {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": f"{prefix}{review_id}"}}


def reviewer_claim_key(product_id: str, user_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": f"REVIEWER#{user_id}"}}


@dataclass(frozen=True)
class Review:
    """A listed review. `order_id` is the purchase it stands on (None: older than order ids on reviews)."""

    review_id: str
    product_id: str
    user_id: str
    rating: int  # 1..5
    title: str
    body: str
    created_at: datetime
    order_id: str | None = None


def review_item(review: Review) -> dict[str, Any]:
    """The listed review's item, as it is written (no `order_id` attribute when it has none)."""
    return _sorted({
        **{name: value["S"] for name, value in review_key(review.product_id, review.review_id).items()}, "entity": "review",
        "review_id": review.review_id, "product_id": review.product_id, "user_id": review.user_id, "rating": review.rating,
        "title": review.title, "body": review.body, "created_at": to_utc_string(review.created_at), "order_id": review.order_id,
    })


def hidden_review_item(review: Review, because: str) -> dict[str, Any]:
    """The review's item once withdrawn: HIDDEN_REVIEW#<id>, entity hidden_review, `hidden_because` last."""
    item = review_item(review)
    item["sk"] = review_key(review.product_id, review.review_id, HIDDEN_REVIEW_PREFIX)["sk"]
    item["entity"] = {"S": "hidden_review"}
    item["hidden_because"] = {"S": because}
    return item


def reviewer_claim_item(review: Review) -> dict[str, Any]:
    return _sorted({**{name: value["S"] for name, value in reviewer_claim_key(review.product_id, review.user_id).items()},
                    "review_id": review.review_id})  # fmt: skip


def review_from_item(item: dict[str, Any]) -> Review:
    plain = from_attrs(item)
    return Review(review_id=plain["review_id"], product_id=plain["product_id"], user_id=plain["user_id"], rating=int(plain["rating"]),
                  title=plain["title"], body=plain.get("body") or "", created_at=from_utc_string(plain["created_at"]),
                  order_id=plain.get("order_id"))  # fmt: skip


def reviewed_by(product_id: str, user_id: str) -> Review | None:
    """The user's listed review of the product (read consistently), or None: never reviewed, or hidden."""
    claim = _client().get_item(TableName=table(), Key=reviewer_claim_key(product_id, user_id), ConsistentRead=True).get("Item")
    if not claim:
        return None
    item = _client().get_item(TableName=table(), Key=review_key(product_id, claim["review_id"]["S"]), ConsistentRead=True).get("Item")
    return review_from_item(item) if item else None


def review_page(product_id: str, limit: int, after: str | None) -> list[Review]:
    """A product's listed reviews, newest first, at most `limit`, after the sort key `after`
    (read consistently: a reviewer who just posted or withdrew expects to see it at once)."""
    request: dict[str, Any] = {
        "TableName": table(), "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"PRODUCT#{product_id}"}, ":prefix": {"S": REVIEW_PREFIX}},
        "ConsistentRead": True, "ScanIndexForward": False, "Limit": limit,
    }
    if after:
        request["ExclusiveStartKey"] = {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": after}}
    items, _ = _query_items(request, limit)
    return [review_from_item(item) for item in items]
