"""Who may see and set a SKU's stock, decided from the inventory's own items (ADR 0040): the SKU's
owner record (the catalog registers it before listing the SKU, retires it with the product), else
the seller its stock item names. Anyone else's SKU, a deleted product's, or an unknown one: 404."""

from __future__ import annotations

import os
import uuid

import pytest

from functions.inventory.stock import set_initial_stock
from functions.inventory.store import owner_key
from ops.backfill_stock_owners import backfill
from shared.ids import new_id
from shared.tables import connection


def _product(api, category_id: str, skus: int = 1) -> dict:
    body = {"title": f"Owner Test Tee {uuid.uuid4().hex[:8]}", "brand": "Testwear", "category_id": category_id,
            "skus": [{"options": {"size": str(index)}, "price": 1500, "currency": "USD"} for index in range(skus)]}
    created = api.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    return created.json()["data"]


def _get(api, sku: str):
    return api.get(f"/api/v1/inventory/{sku}")


def _put(api, sku: str, on_hand: int):
    return api.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": on_hand})


def _forget_owner_record(sku: str) -> None:
    """As for a SKU created before owner records existed."""
    connection().client.delete_item(TableName=os.environ["INVENTORY_TABLE_NAME"], Key=owner_key(sku))


def test_a_seller_sees_and_sets_only_their_own_skus(local_stack, seller, admin, leaf_category_id):
    # GIVEN a product of the seller and one of the admin, neither stocked yet
    mine = _product(seller, leaf_category_id)["skus"][0]["sku_id"]
    theirs = _product(admin, leaf_category_id)["skus"][0]["sku_id"]
    # THEN the seller's new SKU is theirs at once (zeros: no stock item yet), and settable
    assert _get(seller, mine).json()["data"] == {"sku_id": mine, "on_hand": 0, "reserved": 0, "available": 0, "buckets": 1}
    assert _put(seller, mine, 4).json()["data"]["on_hand"] == 4
    # AND another's SKU looks missing, to read and to set
    for response in (_get(seller, theirs), _put(seller, theirs, 9)):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"
    # AND an admin may read and set any seller's SKU
    assert _get(admin, mine).json()["data"]["on_hand"] == 4
    assert _put(admin, mine, 6).status_code == 200 and _get(seller, mine).json()["data"]["on_hand"] == 6


def test_a_sku_nobody_created_is_404_even_for_an_admin(local_stack, seller, admin):
    unknown = f"sku_{new_id()}{new_id()[-4:]}"
    for api in (seller, admin):
        assert _get(api, unknown).status_code == 404
        assert _put(api, unknown, 1).status_code == 404


def test_a_deleted_products_skus_are_404(local_stack, seller, admin, leaf_category_id):
    # GIVEN a stocked product, then deleted by its seller
    product = _product(seller, leaf_category_id, skus=2)
    stocked, unstocked = (sku["sku_id"] for sku in product["skus"])
    assert _put(seller, stocked, 5).status_code == 200
    assert seller.request("DELETE", f"/api/v1/products/{product['product_id']}").status_code == 204
    # THEN its SKUs are gone for everyone, stocked or not
    for api in (seller, admin):
        for sku in (stocked, unstocked):
            assert _get(api, sku).status_code == 404
            assert _put(api, sku, 1).status_code == 404


@pytest.mark.parametrize("stock", ["names-its-seller", "names-nobody", "none"])
def test_skus_from_before_owner_records(local_stack, seller, admin, leaf_category_id, stock):
    # GIVEN a SKU of the seller without an owner record, its stock item as old code left it
    product = _product(seller, leaf_category_id)
    sku = product["skus"][0]["sku_id"]
    _forget_owner_record(sku)
    if stock == "names-its-seller":
        assert set_initial_stock(sku, 3, product["product_id"], product["seller"]["id"])
    elif stock == "names-nobody":
        assert set_initial_stock(sku, 3)
    # THEN a stock item that names its seller is enough; otherwise the seller is not known yet
    # (an admin may still act on stock that exists)
    assert _get(seller, sku).status_code == (200 if stock == "names-its-seller" else 404)
    assert _get(admin, sku).status_code == (404 if stock == "none" else 200)
    # WHEN the backfill has run THEN the seller has the SKU, whatever its stock item says
    assert backfill([product["product_id"]]) == {"products": 1, "registered": 1, "retired": 0}
    assert _get(seller, sku).status_code == 200
    assert _put(seller, sku, 7).json()["data"]["on_hand"] == 7
