"""The catalog's store (low-level client, ADR 0048) reads and writes the items the pynamodb models
it replaced read and wrote: no migration, and the catalog stream (search, the product cache)
carries the same images. The old models are defined here as they were; each item is written one
way and read the other, and the same change made both ways leaves the same item, attribute for
attribute and in the same order (moto in this process)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.catalog import categories, products, store
from functions.catalog.skus import lookup
from functions.catalog.store import reviews as reviews_store
from shared.tables import connection
from tests.support.pynamodb_meta import table_meta

# -- the models as they were (functions/catalog/store.py before ADR 0048) ----------------------------

_CatalogMeta = table_meta("CATALOG_TABLE_NAME", "catalog")


class OldCategory(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="CATEGORY")
    sk = UnicodeAttribute(range_key=True)
    category_id = UnicodeAttribute()
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()


class OldSlugClaim(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CATEGORY_SLUG")
    category_id = UnicodeAttribute()


class OldSku(MapAttribute):
    sku_id = UnicodeAttribute()
    options = MapAttribute()
    price = NumberAttribute()
    currency = UnicodeAttribute()
    max_per_cart = NumberAttribute(null=True)


class _ByCategory(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _BySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class OldProduct(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PRODUCT")
    entity = UnicodeAttribute(default="product")
    product_id = UnicodeAttribute()
    seller_id = UnicodeAttribute()
    seller_name = UnicodeAttribute(default="")
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    brand = UnicodeAttribute()
    category_id = UnicodeAttribute()
    category_path = ListAttribute(of=UnicodeAttribute, default=list)
    attributes = MapAttribute(default=dict)
    images = ListAttribute(of=UnicodeAttribute, default=list)
    skus = ListAttribute(of=OldSku, default=list)
    free = BooleanAttribute(default=False)
    status = UnicodeAttribute(default="ACTIVE")
    version = NumberAttribute(default=1)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    by_category = _ByCategory()
    by_seller = _BySeller()


class OldReview(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute(default="review")
    review_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    rating = NumberAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    order_id = UnicodeAttribute(null=True)


class OldReviewerClaim(Model):
    class Meta(_CatalogMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()


def old_view(item: OldProduct) -> dict[str, Any]:
    """functions/catalog/products.py `to_view` as it was."""
    count = int(item.rating_count or 0)
    skus = [{
        "sku_id": sku.sku_id, "options": dict(sku.options.as_dict()) if sku.options else {}, "price": int(sku.price),
        "currency": sku.currency, "max_per_cart": int(sku.max_per_cart) if sku.max_per_cart is not None else 50,
    } for sku in item.skus or []]  # fmt: skip
    return {
        "product_id": item.product_id, "title": item.title, "description": item.description, "brand": item.brand,
        "category_id": item.category_id, "attributes": item.attributes.as_dict() if item.attributes else {},
        "images": list(item.images or []), "seller": {"id": item.seller_id, "name": item.seller_name},
        "rating": {"average": round(int(item.rating_sum or 0) / count, 2) if count else None, "count": count}, "skus": skus,
        "free": bool(item.free), "version": int(item.version), "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


# -- the table ------------------------------------------------------------------------------------------


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # A name of its own: in a process that also runs a local stack, moto's backends are that stack's.
    name = f"catalog-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CATALOG_TABLE_NAME", name)
    keys = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
            GlobalSecondaryIndexes=[{
                "IndexName": index, "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": f"{index}pk", "KeyType": "HASH"}, {"AttributeName": f"{index}sk", "KeyType": "RANGE"}],
            } for index in ("gsi1", "gsi2")],
        )  # fmt: skip
        _forget_connections()
        yield client
        _forget_connections()
        client.delete_table(TableName=name)


def _forget_connections() -> None:
    connection.cache_clear()
    for model in (OldCategory, OldSlugClaim, OldProduct, OldReview, OldReviewerClaim):
        model._connection = None


def _raw(client: Any, pk: str, sk: str) -> dict[str, Any]:
    return client.get_item(TableName=os.environ["CATALOG_TABLE_NAME"], Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)["Item"]


def _put_serialized(client: Any, model: Model) -> None:
    """Write an old model's item as the old code's transactions did: its serialize(), by name."""
    client.put_item(TableName=os.environ["CATALOG_TABLE_NAME"], Item=model.serialize())


def _without(item: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in names}


def _same(a: dict[str, Any], b: dict[str, Any], *ignored: str) -> None:
    """Alike attribute for attribute, in the same order (the stream's JSON keeps moto's order)."""
    a, b = _without(a, *ignored), _without(b, *ignored)
    assert a == b
    assert list(a) == list(b)
    for name in a:
        if name == "skus":
            assert [list(sku["M"]) for sku in a[name]["L"]] == [list(sku["M"]) for sku in b[name]["L"]]
            assert [list(sku["M"]["options"]["M"]) for sku in a[name]["L"]] == [list(sku["M"]["options"]["M"]) for sku in b[name]["L"]]
        if name == "attributes":
            assert list(a[name]["M"]) == list(b[name]["M"])


# -- products -------------------------------------------------------------------------------------------

CREATED = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
ATTRIBUTES = {"material": "oak", "weight_g": 1200, "handmade": True, "colors": ["red", "blue"], "tags": [], "zero": 0, "minus": -7}


def pid(n: int) -> str:
    """A well-formed product id (its SKUs' ids name it: functions/catalog/skus.py)."""
    return f"prd_{n:026d}"


def sku_id(product_id: str, n: int) -> str:
    return f"sku_{product_id[4:]}{n:04d}"


def _old_product(product_id: str, *, seller: str = "usr_s", created: datetime = CREATED, skus: list[OldSku] | None = None,
                 **fields: Any) -> OldProduct:  # fmt: skip
    sort_key = f"{created.isoformat()}#{product_id}"
    values: dict[str, Any] = {
        "product_id": product_id, "seller_id": seller, "seller_name": "Sam", "title": "Desk", "description": "A desk",
        "brand": "Acme", "category_id": "cat_leaf", "category_path": ["cat_root", "cat_leaf"], "attributes": dict(ATTRIBUTES),
        "images": ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"],
        "skus": skus if skus is not None else [
            OldSku(sku_id=sku_id(product_id, 1), options={"size": "M", "color": "oak"}, price=25000, currency="EUR", max_per_cart=5),
            OldSku(sku_id=sku_id(product_id, 2), options={}, price=1, currency="EUR"),  # an old SKU without a limit
        ],
        "free": False, "created_at": created, "updated_at": created, "gsi1pk": "CATEGORY#cat_leaf", "gsi1sk": sort_key,
        "gsi2pk": f"SELLER#{seller}", "gsi2sk": sort_key,
    }  # fmt: skip
    return OldProduct(f"PRODUCT#{product_id}", **(values | fields))


def _new_product(product_id: str, *, seller: str = "usr_s", created: datetime = CREATED, **fields: Any) -> store.Product:
    sort_key = f"{created.isoformat()}#{product_id}"
    values: dict[str, Any] = {
        "product_id": product_id, "seller_id": seller, "seller_name": "Sam", "title": "Desk", "description": "A desk",
        "brand": "Acme", "category_id": "cat_leaf", "category_path": ["cat_root", "cat_leaf"], "attributes": dict(ATTRIBUTES),
        "images": ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"],
        "skus": [store.Sku(sku_id=sku_id(product_id, 1), options={"size": "M", "color": "oak"}, price=25000, currency="EUR", max_per_cart=5),
                 store.Sku(sku_id=sku_id(product_id, 2), options={}, price=1, currency="EUR")],
        "created_at": created, "updated_at": created, "gsi1pk": "CATEGORY#cat_leaf", "gsi1sk": sort_key,
        "gsi2pk": f"SELLER#{seller}", "gsi2sk": sort_key,
    }  # fmt: skip
    return store.Product(**(values | fields))


SHAPES: list[dict[str, Any]] = [
    {},
    {"skus": [], "images": [], "attributes": {}, "category_path": [], "description": "", "seller_name": ""},
    {"free": True, "version": 7, "rating_sum": 13, "rating_count": 3, "status": "DELETED"},
    {"attributes": {"z": "last", "a": "first", "n": 2**53 - 1}, "created_at": datetime(2025, 1, 1, tzinfo=UTC)},
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_a_product_s_item_is_the_old_model_s_and_reads_back_both_ways(table, shape: int) -> None:
    # GIVEN the same product as the old model wrote it and as the new store writes it
    fields = SHAPES[shape]
    old_fields = {k: ([] if k == "skus" else v) for k, v in fields.items()}
    _old_product("prd_old", **old_fields).save()
    store.put_new_product(_new_product("prd_new", **fields))
    old_item, new_item = _raw(table, "PRODUCT#prd_old", "PRODUCT"), _raw(table, "PRODUCT#prd_new", "PRODUCT")
    # THEN the two items are alike attribute for attribute, in order (but for the id they carry)
    renamed = {name: value for name, value in new_item.items()}
    for name in ("pk", "product_id", "gsi1sk", "gsi2sk"):
        renamed[name] = {"S": new_item[name]["S"].replace("prd_new", "prd_old")}
    renamed["skus"] = {"L": [{"M": {**sku["M"], "sku_id": {"S": sku["M"]["sku_id"]["S"].replace("new", "old")}}}
                             for sku in new_item["skus"]["L"]]}  # fmt: skip
    _same(old_item, renamed)
    # AND the codec alone gives the item the old model's save put (its key first; the stream's image)
    old = OldProduct.get("PRODUCT#prd_old", "PRODUCT", consistent_read=True)
    serialized = old.serialize()
    put = {"pk": serialized.pop("pk"), "sk": serialized.pop("sk"), **serialized}
    _same(store.product_item(store.product_from_item(old_item)), put)
    _same(store.product_item(store.product_from_item(put)), old_item)
    # AND the new store reads the old item as the old model did (the page's view), and vice versa
    assert products.to_view(store.get_product("prd_old")) == old_view(old)
    assert old_view(OldProduct.get("PRODUCT#prd_new", "PRODUCT", consistent_read=True)) == products.to_view(store.get_product("prd_new"))
    read = store.get_product("prd_old")
    assert read is not None and (read.created_at, read.updated_at) == (old.created_at, old.updated_at)
    assert read.created_at.tzinfo is not None and read.created_at.utcoffset() == timedelta(0)


def test_the_sku_maps_hold_their_set_fields_only(table) -> None:
    store.put_new_product(_new_product(pid(1)))
    skus = _raw(table, f"PRODUCT#{pid(1)}", "PRODUCT")["skus"]["L"]
    assert list(skus[0]["M"]) == ["currency", "max_per_cart", "options", "price", "sku_id"]
    assert list(skus[1]["M"]) == ["currency", "options", "price", "sku_id"] and skus[1]["M"]["options"] == {"M": {}}
    assert skus[0]["M"]["price"] == {"N": "25000"} and list(skus[0]["M"]["options"]["M"]) == ["size", "color"]
    # (an old SKU without a limit reads as having none: the default applies in the view and the cart)
    assert store.get_product(pid(1)).skus[1].max_per_cart is None
    assert products.to_view(store.get_product(pid(1)))["skus"][1]["max_per_cart"] == 50
    assert lookup([sku_id(pid(1), 2)])[sku_id(pid(1), 2)].max_per_cart == 50


def test_an_update_changes_the_item_as_the_old_update_did(table) -> None:
    # GIVEN twin products the old model wrote
    for product_id in ("prd_a", "prd_b"):
        _old_product(product_id).save()
    later = CREATED + timedelta(hours=1)
    new_skus = [store.Sku(sku_id="sku_x", options={"size": "L"}, price=0, currency="EUR", max_per_cart=3),
                store.Sku(sku_id="sku_y", options={"b": "2", "a": "1"}, price=0, currency="EUR")]  # fmt: skip
    changes = {"updated_at": later, "title": "Table", "description": "", "attributes": {"legs": 4, "wood": ["oak"]},
               "images": [], "category_id": "cat_other", "category_path": ["cat_root", "cat_other"], "gsi1pk": "CATEGORY#cat_other",
               "skus": new_skus, "free": True}  # fmt: skip
    # WHEN one is updated the old way and the other by the store (conditional on its version)
    old = OldProduct.get("PRODUCT#prd_a", "PRODUCT")
    actions = [OldProduct.updated_at.set(later), OldProduct.version.add(1)]
    actions += [getattr(OldProduct, name).set(value) for name, value in changes.items() if name not in ("updated_at", "skus")]
    actions.append(OldProduct.skus.set([OldSku(sku_id=s.sku_id, options=s.options, price=s.price, currency=s.currency,
                                               max_per_cart=s.max_per_cart) for s in new_skus]))  # fmt: skip
    old.update(actions=actions, condition=(OldProduct.version == 1) & (OldProduct.status == "ACTIVE"))
    new = store.update_product("prd_b", changes, version=1)
    # THEN the items are alike (but for their ids), and the store returns the item as it is now
    a, b = _raw(table, "PRODUCT#prd_a", "PRODUCT"), _raw(table, "PRODUCT#prd_b", "PRODUCT")
    _same(a, b, "pk", "product_id", "gsi1sk", "gsi2sk")
    assert new is not None and new.version == 2 and products.to_view(new) == old_view(old) | {"product_id": "prd_b"}
    # AND a second update at the old version fails, as before (409), leaving the item
    assert store.update_product("prd_b", {"updated_at": later, "title": "Late"}, version=1) is None
    assert _raw(table, "PRODUCT#prd_b", "PRODUCT") == b
    # AND the soft delete moves it the same way, once
    old.update(actions=[OldProduct.status.set("DELETED"), OldProduct.version.add(1), OldProduct.updated_at.set(later)],
               condition=OldProduct.status == "ACTIVE")  # fmt: skip
    deleted = store.soft_delete_product("prd_b", later)
    assert deleted is not None and deleted.status == "DELETED" and deleted.version == 3
    _same(_raw(table, "PRODUCT#prd_a", "PRODUCT"), _raw(table, "PRODUCT#prd_b", "PRODUCT"), "pk", "product_id", "gsi1sk", "gsi2sk")
    assert store.soft_delete_product("prd_b", later) is None


def test_a_product_page_is_the_old_query_s_page(table) -> None:
    # GIVEN 12 products of one category, every third deleted
    for index in range(12):
        _old_product(f"prd_{index:02d}", created=CREATED + timedelta(minutes=index), status="DELETED" if index % 3 == 0 else "ACTIVE").save()
    for limit in (1, 2, 3, 5, 100):
        start_old = start_new = None
        while True:
            # WHEN a page is read the old way (products.list_products as it was) and by the store
            results = OldProduct.by_category.query("CATEGORY#cat_leaf", scan_index_forward=False, limit=limit, last_evaluated_key=start_old,
                                                  filter_condition=OldProduct.status == "ACTIVE", page_size=limit)  # fmt: skip
            old_page = [item.product_id for item in results]
            new_page, start_new = store.product_page("gsi1", "CATEGORY#cat_leaf", limit, start_new)
            # THEN the same products, and the same key to go on from
            assert [product.product_id for product in new_page] == old_page, limit
            start_old = results.last_evaluated_key
            assert start_new == start_old, limit
            if not start_old:
                break


def test_the_category_path_and_lookup_read_what_the_old_models_wrote(table) -> None:
    OldCategory(sk="CATEGORY#cat_root", category_id="cat_root", name="Home", slug="home", created_at=CREATED, created_by="adm").save()
    OldCategory(sk="CATEGORY#cat_leaf", category_id="cat_leaf", name="Desks", slug="desks", parent_id="cat_root", created_at=CREATED,
                created_by="adm").save()  # fmt: skip
    assert products.category_path("cat_leaf") == ["cat_root", "cat_leaf"]
    _old_product(pid(1)).save()
    found = lookup([sku_id(pid(1), 1), sku_id(pid(1), 2)])
    assert found[sku_id(pid(1), 1)].options == {"size": "M", "color": "oak"} and found[sku_id(pid(1), 1)].image == "https://img.example.com/a.jpg"
    assert (found[sku_id(pid(1), 1)].max_per_cart, found[sku_id(pid(1), 2)].price) == (5, 1)


# -- categories -----------------------------------------------------------------------------------------


def test_categories_written_either_way_are_the_same_items(table) -> None:
    # GIVEN a root and a child written by the store (categories.create_category) ...
    root = categories.create_category("Home & Garden", None, created_by="adm")
    child = categories.create_category("Café Tables", root["category_id"], created_by="adm")
    for view in (root, child):
        new_item = _raw(table, "CATEGORY", f"CATEGORY#{view['category_id']}")
        claim = _raw(table, f"CATEGORY_SLUG#{view['parent_id'] or 'ROOT'}#{view['slug']}", "CATEGORY_SLUG")
        # ... and by the old models, with the same values
        created = datetime.fromisoformat(OldCategory.created_at.deserialize(new_item["created_at"]["S"]).isoformat())
        _put_serialized(table, OldCategory(sk="CATEGORY#twin", category_id=view["category_id"], name=view["name"], slug=view["slug"],
                                           parent_id=view["parent_id"], created_at=created, created_by="adm"))  # fmt: skip
        _put_serialized(table, OldSlugClaim(pk="CATEGORY_SLUG#twin", category_id=view["category_id"]))
        # THEN they are alike attribute for attribute (a root has no parent_id attribute, never NULL)
        _same(new_item, _raw(table, "CATEGORY", "CATEGORY#twin"), "sk")
        _same(claim, _raw(table, "CATEGORY_SLUG#twin", "CATEGORY_SLUG"), "pk")
        assert ("parent_id" in new_item) == bool(view["parent_id"])
        OldCategory.get("CATEGORY", "CATEGORY#twin").delete()
    # AND the old model reads the store's categories as the store reads them
    old = {item.category_id: (item.name, item.slug, item.parent_id) for item in OldCategory.query("CATEGORY", consistent_read=True)}
    assert old == {c.category_id: (c.name, c.slug, c.parent_id) for c in store.categories(consistent=True)}
    assert [node["name"] for node in categories.category_tree()] == ["Home & Garden"]
    assert categories.category_tree()[0]["children"][0]["slug"] == "cafe-tables"


# -- reviews --------------------------------------------------------------------------------------------


def _review(review_id: str, user_id: str, order_id: str | None = "ord_1", product_id: str = "prd_1") -> store.Review:
    return store.Review(review_id=review_id, product_id=product_id, user_id=user_id, rating=4, title="Good", body="",
                        created_at=CREATED, order_id=order_id)  # fmt: skip


def _old_review(review: store.Review, sort_prefix: str = "REVIEW#") -> OldReview:
    return OldReview(f"PRODUCT#{review.product_id}", f"{sort_prefix}{review.review_id}", review_id=review.review_id,
                     product_id=review.product_id, user_id=review.user_id, rating=review.rating, title=review.title, body=review.body,
                     created_at=review.created_at, order_id=review.order_id)  # fmt: skip


@pytest.mark.parametrize("order_id", ["ord_1", None])
def test_a_review_and_its_claim_are_the_old_models_items(table, order_id: str | None) -> None:
    # GIVEN a product, and a review recorded by the store (review, claim and rating in one transaction)
    _old_product("prd_1").save()
    # (a review id of its own per run: it is the transaction's client token, which moto remembers
    # across tables for 10 minutes, as DynamoDB does)
    review = _review(f"rev_new_{uuid.uuid4().hex[:12]}", "usr_new", order_id)
    reviews_store.record_review(review)
    # AND the same review written by the old models
    twin = replace(review, review_id="rev_old", user_id="usr_old")
    _put_serialized(table, _old_review(twin))
    _put_serialized(table, OldReviewerClaim("PRODUCT#prd_1", "REVIEWER#usr_old", review_id="rev_old"))
    # THEN the items are alike (no order_id attribute when there is none)
    new_item, old_item = _raw(table, "PRODUCT#prd_1", f"REVIEW#{review.review_id}"), _raw(table, "PRODUCT#prd_1", "REVIEW#rev_old")
    _same(_without(new_item, "sk", "review_id", "user_id"), _without(old_item, "sk", "review_id", "user_id"))
    assert list(new_item) == list(old_item) and ("order_id" in new_item) == (order_id is not None)
    assert list(_raw(table, "PRODUCT#prd_1", "REVIEWER#usr_new")) == list(_raw(table, "PRODUCT#prd_1", "REVIEWER#usr_old"))
    # AND each reads the other's: the store the old review, the old model the store's
    assert reviews_store.review_by("prd_1", "usr_old") == twin
    old_read = OldReview.get("PRODUCT#prd_1", f"REVIEW#{review.review_id}", consistent_read=True)
    assert (old_read.review_id, old_read.rating, old_read.created_at, old_read.order_id, old_read.body) == (
        review.review_id, 4, CREATED, order_id, "")
    assert OldReviewerClaim.get("PRODUCT#prd_1", "REVIEWER#usr_new").review_id == review.review_id
    # AND the rating moved on the product with updated_at in the old format
    product = _raw(table, "PRODUCT#prd_1", "PRODUCT")
    assert (product["rating_sum"], product["rating_count"], product["version"]) == ({"N": "4"}, {"N": "1"}, {"N": "2"})
    assert product["updated_at"] == {"S": OldProduct.updated_at.serialize(CREATED)}
    # AND the list reads both, newest (highest id) first
    listed, cursor = reviews_store.list_reviews("prd_1", 10, None)
    assert [r.review_id for r in listed] == ["rev_old", review.review_id] and cursor is None


def test_a_hidden_review_is_the_item_the_old_withdrawal_wrote(table) -> None:
    _old_product("prd_1").save()
    review = _review(f"rev_{uuid.uuid4().hex[:12]}", "usr_1")
    reviews_store.record_review(review)
    reviews_store.hide_review(review, "ord_1", because="refunded")
    hidden = _raw(table, "PRODUCT#prd_1", f"HIDDEN_REVIEW#{review.review_id}")
    # the old code: the model's serialize(), then sk and entity replaced, hidden_because added last
    expected = _old_review(review).serialize()
    expected["sk"], expected["entity"] = {"S": f"HIDDEN_REVIEW#{review.review_id}"}, {"S": "hidden_review"}
    expected["hidden_because"] = {"S": "refunded"}
    _same(hidden, expected)
    assert reviews_store.review_by("prd_1", "usr_1") is None and reviews_store.list_reviews("prd_1", 10, None) == ([], None)
