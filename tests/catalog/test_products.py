"""functions/catalog/products.py without a table: the SKU limit of an update, and the largest
product the request models let through (it must fit DynamoDB's 400 KB item)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from functions.catalog import products, store
from functions.catalog.schemas import (
    MAX_ATTRIBUTE_NAME,
    MAX_ATTRIBUTE_TEXT,
    MAX_ATTRIBUTES,
    MAX_SKUS,
    CreateProductRequest,
    UpdateProductRequest,
)
from functions.catalog.skus import new_sku_id
from shared.auth import Principal
from shared.errors import ValidationError
from shared.ids import new_prefixed_id

SELLER = Principal(user_id="usr_seller", email="seller@example.com", roles=frozenset({"seller"}))
DYNAMODB_ITEM_LIMIT = 400 * 1024


def _product(sku_count: int) -> store.Product:
    now = datetime.now(UTC)
    product_id = new_prefixed_id("prd")
    skus = [products._sku(new_sku_id(product_id), {"size": f"s{index}"}, 100, "USD") for index in range(sku_count)]
    return store.Product(
        product_id=product_id,
        seller_id=SELLER.user_id,
        title="T",
        brand="B",
        category_id="cat_1",
        skus=skus,
        version=3,
        created_at=now,
        updated_at=now,
        gsi1pk="CATEGORY#cat_1",
        gsi1sk=f"{now.isoformat()}#{product_id}",
        gsi2pk=f"SELLER#{SELLER.user_id}",
        gsi2sk=f"{now.isoformat()}#{product_id}",
    )


@pytest.fixture
def writes(monkeypatch) -> list[dict]:
    """update_product on an in-memory product: its conditional writes are recorded, not sent
    (nor are new SKUs' owner records, which go to the inventory)."""
    recorded: list[dict] = []
    monkeypatch.setattr(products, "_register_skus", lambda item, sku_ids: None)
    monkeypatch.setattr(store, "update_product", lambda product_id, sets, version: recorded.append({"sets": sets, "version": version}) or "written")
    return recorded


def _update(item: store.Product, monkeypatch, **changes) -> store.Product:
    monkeypatch.setattr(products, "owned_product", lambda product_id, principal: item)
    return products.update_product(item.product_id, UpdateProductRequest.model_validate(changes), SELLER)


def _new_skus(count: int) -> list[dict]:
    return [{"options": {"size": f"n{index}"}, "price": 100, "currency": "USD"} for index in range(count)]


def test_an_update_cannot_add_skus_past_the_limit(monkeypatch, writes):
    # GIVEN a product with one SKU
    item = _product(1)
    # WHEN an update adds 50 more (51: one past what create accepts)
    with pytest.raises(ValidationError) as refused:
        _update(item, monkeypatch, skus=_new_skus(MAX_SKUS))
    # THEN it is a 400 on `skus`, and nothing is written
    [field] = refused.value.details["fields"]
    assert field["field"] == "body.skus" and f"at most {MAX_SKUS} SKUs" in field["message"] and "51" in field["message"]
    assert refused.value.status == 400 and refused.value.code == "VALIDATION_ERROR"
    assert writes == []


def test_an_update_may_fill_a_product_up_to_the_limit(monkeypatch, writes):
    # GIVEN a product with one SKU  WHEN an update adds 49  THEN it is written, conditional on the version read
    _update(_product(1), monkeypatch, skus=_new_skus(MAX_SKUS - 1))
    [write] = writes
    assert write["version"] == 3 and len(store.product_item(replace(_product(0), skus=write["sets"]["skus"]))["skus"]["L"]) == MAX_SKUS


def test_a_full_product_can_still_change_its_prices(monkeypatch, writes):
    # GIVEN a product with 50 SKUs  WHEN an update changes the price of one of them
    item = _product(MAX_SKUS)
    _update(item, monkeypatch, skus=[{"sku_id": item.skus[0].sku_id, "price": 250, "currency": "USD"}])
    # THEN it is written: existing SKUs do not count twice
    assert len(writes) == 1


def test_a_full_product_cannot_get_one_more_sku(monkeypatch, writes):
    item = _product(MAX_SKUS)
    with pytest.raises(ValidationError) as refused:
        _update(item, monkeypatch, skus=[{"sku_id": item.skus[0].sku_id, "price": 250, "currency": "USD"}, *_new_skus(1)])
    assert refused.value.details["fields"][0]["field"] == "body.skus" and writes == []


def _dynamodb_size(value: dict) -> int:
    """Bytes of one serialized attribute value by DynamoDB's rules (numbers: an upper bound)."""
    [(kind, inner)] = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return 21
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _dynamodb_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + _dynamodb_size(element) for name, element in inner.items())
    raise AssertionError(f"unexpected DynamoDB type {kind}")


def test_the_largest_product_the_request_allows_fits_a_dynamodb_item(monkeypatch):
    # GIVEN a product at every limit of the request model at once, in 4-byte UTF-8 characters
    wide = "\U0001f600"

    def distinct(count: int, length: int) -> list[str]:
        return [wide * (length - 1) + chr(0x4E00 + index) for index in range(count)]

    option_names = [f"option_{letter}".ljust(30, "x") for letter in "abcde"]  # 5 options of the longest name

    body = {
        "title": wide * 200,
        "description": wide * 5000,
        "brand": wide * 80,
        "category_id": "cat_" + "0" * 26,
        "attributes": dict.fromkeys(distinct(MAX_ATTRIBUTES, MAX_ATTRIBUTE_NAME), wide * MAX_ATTRIBUTE_TEXT),
        "images": [f"https://{wide * 500}"] * 10,
        "skus": [
            {"options": dict.fromkeys(option_names, value), "price": 100_000_000, "currency": "USD"}
            for value in distinct(MAX_SKUS, 50)
        ],
    }
    request = CreateProductRequest.model_validate(body)
    assert len(request.skus) == MAX_SKUS and len(request.attributes) == MAX_ATTRIBUTES
    # WHEN it is created (the table write captured)
    saved: list[store.Product] = []
    monkeypatch.setattr(products, "category_path", lambda category_id: [category_id] * 10)
    monkeypatch.setattr(store, "put_new_product", saved.append)
    monkeypatch.setattr(products, "_register_skus", lambda item, sku_ids: None)  # the inventory's owner records
    products.create_product(request, SELLER, seller_name=wide * 100)
    # THEN its item is under DynamoDB's 400 KB with room to spare (~310 KB), its JSON too
    serialized = store.product_item(saved[0])
    size = sum(len(name.encode()) + _dynamodb_size(value) for name, value in serialized.items())
    assert size < 0.8 * DYNAMODB_ITEM_LIMIT, size
    assert len(json.dumps(serialized, ensure_ascii=False).encode()) < 0.8 * DYNAMODB_ITEM_LIMIT
