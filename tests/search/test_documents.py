"""The one translator: catalog item / stream record -> search document or delete."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.search.documents import IndexAction, UntranslatableRecord, from_item, from_stream_record, to_document
from tests.search.conftest import product, sku, stream_record


def test_a_product_item_becomes_a_denormalised_document() -> None:
    # GIVEN a product with SKUs in two colors, three sizes and mixed case
    item = product(
        "Blue Cotton T-Shirt",
        brand="Acme",
        description="Soft",
        category_path=["cat_a", "cat_b"],
        skus=[sku("Blue", "M", 1500), sku("blue", "L", 1700), sku("Red ", "xl", 1600)],
        rating=(9, 2),
        images=["https://img/1.jpg", "https://img/2.jpg"],
        version=4,
    )
    # WHEN it is translated
    document = to_document(item)
    # THEN the document carries what results, facets and sorting need, in index-friendly types
    assert document["product_id"] == item["product_id"]
    assert document["category_id"] == "cat_b"
    assert document["category_path"] == ["cat_a", "cat_b"]
    assert document["colors"] == ["blue", "red"]
    assert document["sizes"] == ["l", "m", "xl"]
    assert (document["price_min"], document["price_max"], document["currency"]) == (1500, 1700, "USD")
    assert document["rating_avg"] == 4.5 and document["rating_count"] == 2
    assert document["image"] == "https://img/1.jpg"
    assert document["created_at"].endswith("Z") and document["created_at"].startswith("2026-01-01T")
    assert document["status"] == "ACTIVE" and document["catalog_version"] == 4
    assert document["sku_ids"] == [s["sku_id"] for s in item["skus"]]  # what in_stock is computed over
    assert document["suggest"]["input"][:2] == ["Blue Cotton T-Shirt", "Acme"]
    assert "Cotton T-Shirt" in document["suggest"]["input"]
    assert "in_stock" not in document and "stock" not in document  # stock is the inventory stream's part


def test_an_unrated_product_sorts_last_and_shows_no_average() -> None:
    document = to_document(product("Plain", rating=(0, 0), images=[]))
    assert document["rating_avg"] == 0.0 and document["rating_count"] == 0
    assert document["image"] is None


def test_stream_insert_and_modify_index_at_the_item_version() -> None:
    item = product("Lamp", version=3)
    for event_name in ("INSERT", "MODIFY"):
        action = from_stream_record(stream_record(event_name, new=item, old=item))
        assert action == IndexAction(item["product_id"], "index", 3)
        assert action.document["title"] == "Lamp"


def test_soft_delete_deletes_at_its_own_version() -> None:
    deleted = product("Lamp", version=5, status="DELETED")
    assert from_stream_record(stream_record("MODIFY", new=deleted)) == IndexAction(deleted["product_id"], "delete", 5)
    assert from_item(deleted).op == "delete"


def test_remove_deletes_at_old_version_plus_one() -> None:
    old = product("Lamp", version=7)
    assert from_stream_record(stream_record("REMOVE", old=old)) == IndexAction(old["product_id"], "delete", 8)


def test_records_of_other_item_types_are_not_for_the_index() -> None:
    category = {"pk": "CATEGORY", "sk": "CATEGORY#cat_1", "name": "Garden"}
    assert from_stream_record(stream_record("INSERT", new=category)) is None


def test_a_real_product_item_stream_image_translates() -> None:
    # GIVEN the catalog's own store codec, the item as DynamoDB stores it (and the stream carries it)
    from functions.catalog import store

    item = product("Desk", skus=[sku("Oak", None, 25000)])
    record = stream_record("INSERT", new=item)
    record["dynamodb"]["NewImage"] = store.product_item(store.product_from_item(record["dynamodb"]["NewImage"]))
    # WHEN translated THEN the document is the same as from the plain item
    action = from_stream_record(record)
    assert action.document == to_document(item)
    assert action.document["colors"] == ["oak"] and action.document["sizes"] == []


@pytest.mark.parametrize(
    "broken",
    [{"version": Decimal("1.5")}, {"created_at": "yesterday"}, {"product_id": None}],
)
def test_a_malformed_product_is_an_error_not_a_silent_skip(broken: dict) -> None:
    item = {**product("Broken"), **broken}
    with pytest.raises(UntranslatableRecord):
        from_item(item)
