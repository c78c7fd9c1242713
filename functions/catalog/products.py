"""Product logic: create, read, list, update (optimistic, versioned), soft delete."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import UpdateError

from functions.catalog.models import CATEGORY_PARTITION, CategoryItem, ProductItem, SkuAttribute
from functions.catalog.skus import new_sku_id
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ValidationError
from shared.ids import new_prefixed_id
from shared.tables import is_condition_failure

if TYPE_CHECKING:  # the request models: only the handlers that read a body build them (cold start)
    from functions.catalog.schemas import CreateProductRequest, UpdateProductRequest

MAX_LIST = 100


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError("The request is invalid.", {"fields": [{"field": field, "message": message, "type": "invalid"}]})


def category_path(category_id: str) -> list[str]:
    """Ancestor ids root..leaf (so a search on a parent category includes its sub-categories)."""
    parents = {item.category_id: item.parent_id for item in CategoryItem.query(CATEGORY_PARTITION)}
    if category_id not in parents:
        raise _field_error("body.category_id", "unknown category")
    path = [category_id]
    while parents.get(path[0]):
        path.insert(0, parents[path[0]])
    return path


def to_view(item: ProductItem, availability: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    count = int(item.rating_count or 0)
    skus = []
    for sku in item.skus or []:
        view = {
            "sku_id": sku.sku_id,
            "options": dict(sku.options.as_dict()) if sku.options else {},
            "price": int(sku.price),
            "currency": sku.currency,
        }
        if availability is not None:
            view["availability"] = availability.get(sku.sku_id, {"in_stock": False, "available": 0})
        skus.append(view)
    return {
        "product_id": item.product_id,
        "title": item.title,
        "description": item.description,
        "brand": item.brand,
        "category_id": item.category_id,
        "attributes": item.attributes.as_dict() if item.attributes else {},
        "images": list(item.images or []),
        "seller": {"id": item.seller_id, "name": item.seller_name},
        "rating": {"average": round(int(item.rating_sum or 0) / count, 2) if count else None, "count": count},
        "skus": skus,
        "version": int(item.version),
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def _sku(sku_id: str, options: dict[str, str], price: int, currency: str) -> SkuAttribute:
    return SkuAttribute(sku_id=sku_id, options=options, price=price, currency=currency)


def create_product(request: CreateProductRequest, seller: Principal, seller_name: str) -> ProductItem:
    now = datetime.now(UTC)
    product_id = new_prefixed_id("prd")
    sort_key = f"{now.isoformat()}#{product_id}"
    item = ProductItem(
        ProductItem.key(product_id),
        product_id=product_id,
        seller_id=seller.user_id,
        seller_name=seller_name,
        title=request.title,
        description=request.description,
        brand=request.brand,
        category_id=request.category_id,
        category_path=category_path(request.category_id),
        attributes=request.attributes,
        images=request.images,
        skus=[_sku(new_sku_id(product_id), s.options, s.price, s.currency) for s in request.skus],
        created_at=now,
        updated_at=now,
        gsi1pk=f"CATEGORY#{request.category_id}",
        gsi1sk=sort_key,
        gsi2pk=f"SELLER#{seller.user_id}",
        gsi2sk=sort_key,
    )
    item.save(condition=ProductItem.pk.does_not_exist())
    return item


def get_product(product_id: str) -> ProductItem:
    try:
        item = ProductItem.get(ProductItem.key(product_id), "PRODUCT")
    except ProductItem.DoesNotExist:
        raise NotFound("No such product.") from None
    if item.status != "ACTIVE":
        raise NotFound("No such product.")
    return item


def owned_product(product_id: str, principal: Principal) -> ProductItem:
    item = get_product(product_id)
    if item.seller_id != principal.user_id and not principal.is_admin:
        raise NotFound("No such product.")  # another seller's product looks missing
    return item


def update_product(product_id: str, changes: UpdateProductRequest, principal: Principal) -> ProductItem:
    item = owned_product(product_id, principal)
    provided = changes.model_fields_set
    actions = [ProductItem.updated_at.set(datetime.now(UTC)), ProductItem.version.add(1)]
    for name in ("title", "description", "brand", "attributes", "images"):
        value = getattr(changes, name)
        if name in provided and value is not None:
            actions.append(getattr(ProductItem, name).set(value))
    if "category_id" in provided and changes.category_id:
        actions += [
            ProductItem.category_id.set(changes.category_id),
            ProductItem.category_path.set(category_path(changes.category_id)),
            ProductItem.gsi1pk.set(f"CATEGORY#{changes.category_id}"),
        ]
    if "skus" in provided and changes.skus is not None:
        actions.append(ProductItem.skus.set(_merged_skus(item, changes)))
    try:
        # Optimistic: the write applies only to the version we read, so two editors never
        # silently undo each other (the loser gets 409 and re-reads).
        item.update(actions=actions, condition=(ProductItem.version == item.version) & (ProductItem.status == "ACTIVE"))
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict("The product changed meanwhile; read it again and retry.") from exc
        raise
    return item


def _merged_skus(item: ProductItem, changes: UpdateProductRequest) -> list[SkuAttribute]:
    skus = {sku.sku_id: sku for sku in item.skus or []}
    currency = next(iter(skus.values())).currency if skus else None
    for index, change in enumerate(changes.skus or []):
        if change.currency != currency:
            raise _field_error(f"body.skus.{index}.currency", f"all SKUs of this product are in {currency}")
        if change.sku_id:
            if change.sku_id not in skus:
                raise _field_error(f"body.skus.{index}.sku_id", "no such SKU on this product")
            old = skus[change.sku_id]
            skus[change.sku_id] = _sku(old.sku_id, old.options.as_dict() if old.options else {}, change.price, change.currency)
        else:
            if change.options is None:
                raise _field_error(f"body.skus.{index}.options", "a new SKU needs its options")
            existing = {tuple(sorted((s.options.as_dict() if s.options else {}).items())) for s in skus.values()}
            if tuple(sorted(change.options.items())) in existing:
                raise _field_error(f"body.skus.{index}.options", "a SKU with these options exists")
            new = _sku(new_sku_id(item.product_id), change.options, change.price, change.currency)
            skus[new.sku_id] = new
    # The limit create enforces (CreateProductRequest), on the merged list. It is counted from the
    # item this update read and written as a whole list under the condition that the item is still
    # at that version, so a concurrent change (e.g. another update adding SKUs) fails the write
    # (409) instead of growing the product past the limit.
    from functions.catalog.schemas import MAX_SKUS  # imported by update_product's handler already

    if len(skus) > MAX_SKUS:
        raise _field_error("body.skus", f"a product has at most {MAX_SKUS} SKUs: this change would make {len(skus)}")
    return list(skus.values())


def delete_product(product_id: str, principal: Principal) -> ProductItem:
    """Soft delete: the item stays (orders refer to it); reads and search stop showing it.
    Returns the item as written (its new version)."""
    item = owned_product(product_id, principal)
    try:
        item.update(
            actions=[
                ProductItem.status.set("DELETED"),
                ProductItem.version.add(1),
                ProductItem.updated_at.set(datetime.now(UTC)),
            ],
            condition=ProductItem.status == "ACTIVE",
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound("No such product.") from exc
        raise
    return item


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode() if last_key else None


_CURSOR_KEYS = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        # Only what this API wrote: a table key plus one index key, all strings (a forged key
        # would otherwise reach DynamoDB as ExclusiveStartKey and fail there).
        assert isinstance(value, dict) and {"pk", "sk"} <= set(value) <= _CURSOR_KEYS and len(value) == 4
        assert all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in value.values())
        return value
    except Exception:
        raise ValidationError(
            "The cursor is not valid.", {"fields": [{"field": "query.cursor", "message": "invalid cursor", "type": "invalid"}]}
        ) from None


def list_products(
    category: str | None, seller: str | None, limit: int, cursor: str | None
) -> tuple[list[ProductItem], str | None]:
    """Newest first, by category (gsi1) or seller (gsi2); one of them is required."""
    if category:
        index, key = ProductItem.by_category, f"CATEGORY#{category}"
    elif seller:
        index, key = ProductItem.by_seller, f"SELLER#{seller}"
    else:
        raise ValidationError(
            "Filter by category or seller.",
            {"fields": [{"field": "query.category", "message": "category or seller is required", "type": "missing"}]},
        )
    items: list[ProductItem] = []
    start = decode_cursor(cursor)
    # Deleted products are filtered out, so a page may need more than one query.
    while True:
        results = index.query(
            key,
            scan_index_forward=False,
            limit=limit - len(items),
            last_evaluated_key=start,
            filter_condition=ProductItem.status == "ACTIVE",
            page_size=limit - len(items),
        )
        items += list(results)
        start = results.last_evaluated_key
        if len(items) >= limit or not start:
            return items, encode_cursor(start)
