"""Product logic: create, read, list, update (optimistic, versioned), soft delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.catalog import store
from functions.catalog.skus import DEFAULT_MAX_PER_CART, ZeroPrice, check_prices, new_sku_id
from shared import cursors
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ValidationError
from shared.ids import new_prefixed_id

if TYPE_CHECKING:  # the request models: only the handlers that read a body build them (cold start)
    from functions.catalog.schemas import CreateProductRequest, UpdateProductRequest

MAX_LIST = 100


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError("The request is invalid.", {"fields": [{"field": field, "message": message, "type": "invalid"}]})


def category_path(category_id: str) -> list[str]:
    """Ancestor ids root..leaf (so a search on a parent category includes its sub-categories).
    Read consistently: it decides whether a category exists, and a category created a moment ago
    must not be refused as unknown (an eventually consistent read may not have it yet on AWS)."""
    parents = {category.category_id: category.parent_id for category in store.categories(consistent=True)}
    if category_id not in parents:
        raise _field_error("body.category_id", "unknown category")
    path = [category_id]
    while parents.get(path[0]):
        path.insert(0, parents[path[0]])
    return path


def to_view(item: store.Product, availability: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    count = int(item.rating_count or 0)
    skus = []
    for sku in item.skus or []:
        view = {
            "sku_id": sku.sku_id,
            "options": dict(sku.options or {}),
            "price": int(sku.price),
            "currency": sku.currency,
            "max_per_cart": max_per_cart(sku),
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
        "attributes": dict(item.attributes or {}),
        "images": list(item.images or []),
        "seller": {"id": item.seller_id, "name": item.seller_name},
        "rating": {"average": round(int(item.rating_sum or 0) / count, 2) if count else None, "count": count},
        "skus": skus,
        "free": bool(item.free),
        "version": int(item.version),
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def max_per_cart(sku: store.Sku) -> int:
    return int(sku.max_per_cart) if sku.max_per_cart is not None else DEFAULT_MAX_PER_CART


def _sku(sku_id: str, options: dict[str, str], price: int, currency: str, limit: int = DEFAULT_MAX_PER_CART) -> store.Sku:
    return store.Sku(sku_id=sku_id, options=options, price=price, currency=currency, max_per_cart=limit)


def create_product(request: CreateProductRequest, seller: Principal, seller_name: str) -> store.Product:
    check_prices([sku.price for sku in request.skus], request.free)
    now = datetime.now(UTC)
    product_id = new_prefixed_id("prd")
    sort_key = f"{now.isoformat()}#{product_id}"
    item = store.Product(
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
        skus=[_sku(new_sku_id(product_id), s.options, s.price, s.currency, s.max_per_cart) for s in request.skus],
        free=request.free,
        created_at=now,
        updated_at=now,
        gsi1pk=f"CATEGORY#{request.category_id}",
        gsi1sk=sort_key,
        gsi2pk=f"SELLER#{seller.user_id}",
        gsi2sk=sort_key,
    )
    _register_skus(item, [sku.sku_id for sku in item.skus])
    store.put_new_product(item)
    return item


def _register_skus(item: store.Product, sku_ids: list[str]) -> None:
    """Tell the inventory whose new SKUs these are BEFORE the product lists them (ADR 0040): the
    seller can set their stock as soon as they see them. A write that then fails leaves records
    of ids nobody was shown (no stock, nothing to sell)."""
    if sku_ids:
        from functions.inventory import api as inventory  # the writes only: reads stay light (cold start)

        inventory.register_skus(item.product_id, item.seller_id, sku_ids)


def get_product(product_id: str) -> store.Product:
    """The product item, read consistently. Its readers decide (an update's version condition,
    an owner check) or are the product page's cache miss, which must show the writer its own
    write (ADR 0016): an eventually consistent GetItem right after a write may return the old
    item on AWS (a spurious 409 on a second quick edit, a page without the edit). Its callers
    are the writes, the page's cache misses (~5% of page reads) and the reviews' 404 check, so the
    extra read capacity is small."""
    item = store.get_product(product_id, consistent=True)
    if item is None or item.status != "ACTIVE":
        raise NotFound("No such product.")
    return item


def owned_product(product_id: str, principal: Principal) -> store.Product:
    item = get_product(product_id)
    if item.seller_id != principal.user_id and not principal.is_admin:
        raise NotFound("No such product.")  # another seller's product looks missing
    return item


def update_product(product_id: str, changes: UpdateProductRequest, principal: Principal) -> store.Product:
    item = owned_product(product_id, principal)
    provided = changes.model_fields_set
    sets: dict[str, Any] = {"updated_at": datetime.now(UTC)}
    for name in ("title", "description", "brand", "attributes", "images"):
        value = getattr(changes, name)
        if name in provided and value is not None:
            sets[name] = value
    if "category_id" in provided and changes.category_id:
        sets |= {
            "category_id": changes.category_id,
            "category_path": category_path(changes.category_id),
            "gsi1pk": f"CATEGORY#{changes.category_id}",
        }
    free = changes.free if "free" in provided and changes.free is not None else bool(item.free)
    check_prices([change.price for change in changes.skus or []], free)
    skus = _merged_skus(item, changes) if "skus" in provided and changes.skus is not None else list(item.skus or [])
    _check_unchanged_prices(skus, free)
    if "skus" in provided and changes.skus is not None:
        sets["skus"] = skus
        known = {sku.sku_id for sku in item.skus or []}
        _register_skus(item, [sku.sku_id for sku in skus if sku.sku_id not in known])
    if free != bool(item.free):
        sets["free"] = free
    # Optimistic: the write applies only to the version we read (+1 version), so two editors never
    # silently undo each other (the loser gets 409 and re-reads).
    updated = store.update_product(product_id, sets, version=item.version)
    if updated is None:
        raise Conflict("The product changed meanwhile; read it again and retry.")
    return updated


def _check_unchanged_prices(skus: list[store.Sku], free: bool) -> None:
    """The SKUs this update leaves as they were must fit a change of `free` too (the changed ones
    were checked against the request, with their own field errors)."""
    prices = [int(sku.price) for sku in skus]
    if free and any(prices):
        raise _field_error("body.free", "a free product's SKUs cost 0: set their prices to 0 in the same request")
    if not free and 0 in prices:
        raise ZeroPrice(
            'A price of 0 is only for products marked free ("free": true).',
            {"fields": [{"field": "body.free", "message": "SKUs priced 0 need the product marked free", "type": "zero_price"}]},
        )


def _merged_skus(item: store.Product, changes: UpdateProductRequest) -> list[store.Sku]:
    skus = {sku.sku_id: sku for sku in item.skus or []}
    currency = next(iter(skus.values())).currency if skus else None
    for index, change in enumerate(changes.skus or []):
        if change.currency != currency:
            raise _field_error(f"body.skus.{index}.currency", f"all SKUs of this product are in {currency}")
        if change.sku_id:
            if change.sku_id not in skus:
                raise _field_error(f"body.skus.{index}.sku_id", "no such SKU on this product")
            old = skus[change.sku_id]
            limit = change.max_per_cart if change.max_per_cart is not None else max_per_cart(old)
            skus[change.sku_id] = _sku(old.sku_id, dict(old.options or {}), change.price, change.currency, limit)
        else:
            if change.options is None:
                raise _field_error(f"body.skus.{index}.options", "a new SKU needs its options")
            existing = {tuple(sorted((s.options or {}).items())) for s in skus.values()}
            if tuple(sorted(change.options.items())) in existing:
                raise _field_error(f"body.skus.{index}.options", "a SKU with these options exists")
            new = _sku(new_sku_id(item.product_id), change.options, change.price, change.currency,
                       change.max_per_cart or DEFAULT_MAX_PER_CART)
            skus[new.sku_id] = new
    # The limit create enforces (CreateProductRequest), on the merged list. It is counted from the
    # item this update read and written as a whole list under the condition that the item is still
    # at that version, so a concurrent change (e.g. another update adding SKUs) fails the write
    # (409) instead of growing the product past the limit.
    from functions.catalog.schemas import MAX_SKUS  # imported by update_product's handler already

    if len(skus) > MAX_SKUS:
        raise _field_error("body.skus", f"a product has at most {MAX_SKUS} SKUs: this change would make {len(skus)}")
    return list(skus.values())


def delete_product(product_id: str, principal: Principal) -> store.Product:
    """Soft delete: the item stays (orders refer to it); reads and search stop showing it.
    Returns the item as written (its new version)."""
    item = store.soft_delete_product(owned_product(product_id, principal).product_id, datetime.now(UTC))
    if item is None:  # deleted meanwhile
        raise NotFound("No such product.")
    from functions.inventory import api as inventory

    # Its SKUs' stock is nobody's to see or set any more (ADR 0040). A failure here leaves their
    # owner records live: the seller could still set stock no shopper can buy (carts ask the catalog).
    inventory.retire_skus(item.product_id, item.seller_id, [sku.sku_id for sku in item.skus or []])
    return item


def encode_cursor(partition: str, last_key: dict[str, Any] | None) -> str | None:
    """A signed cursor (shared/cursors.py) of the list of `partition` (CATEGORY#.../SELLER#...)."""
    return cursors.encode("products", partition, last_key) if last_key else None


_CURSOR_KEYS = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}


def decode_cursor(partition: str, cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    value = cursors.decode("products", partition, cursor)
    # Signed by us, and still only what this code writes: a table key plus one index key, all
    # strings (anything else would reach DynamoDB as ExclusiveStartKey and fail there).
    if not (isinstance(value, dict) and {"pk", "sk"} <= set(value) <= _CURSOR_KEYS and len(value) == 4) or not all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in value.values()
    ):
        raise cursors.InvalidCursor()
    return value


def list_products(
    category: str | None, seller: str | None, limit: int, cursor: str | None
) -> tuple[list[store.Product], str | None]:
    """Newest first, by category (gsi1) or seller (gsi2); one of them is required."""
    if category:
        index, key = "gsi1", f"CATEGORY#{category}"
    elif seller:
        index, key = "gsi2", f"SELLER#{seller}"
    else:
        raise ValidationError(
            "Filter by category or seller.",
            {"fields": [{"field": "query.category", "message": "category or seller is required", "type": "missing"}]},
        )
    # Deleted products are filtered out, so a page may take more than one query (the store reads on).
    items, last = store.product_page(index, key, limit, decode_cursor(key, cursor))
    return items, encode_cursor(key, last)
