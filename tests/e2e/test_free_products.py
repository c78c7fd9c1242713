"""A price of 0 is refused unless the product is marked free (over HTTP)."""

from __future__ import annotations

import uuid


def _product(category_id: str, prices: list[int], **more) -> dict:
    return {
        "title": f"Priced Tee {uuid.uuid4().hex[:6]}", "brand": "Northwind", "category_id": category_id,
        "skus": [{"options": {"size": str(i)}, "price": price, "currency": "USD"} for i, price in enumerate(prices)],
        **more,
    }


def test_a_zero_price_is_refused_on_a_product_not_marked_free(seller, leaf_category_id):
    # WHEN a seller lists a product with a SKU at 0 (a typo far more often than a gift)
    response = seller.post("/api/v1/products", json=_product(leaf_category_id, [1500, 0]))
    # THEN it is a 400 with a stable code naming the SKU, and nothing is created
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "ZERO_PRICE"
    assert [f["field"] for f in error["details"]["fields"]] == ["body.skus.1.price"]


def test_a_product_marked_free_costs_0_on_every_sku(seller, anonymous, leaf_category_id):
    # WHEN a seller lists a free product
    created = seller.post("/api/v1/products", json=_product(leaf_category_id, [0, 0], free=True))
    # THEN it is created and shown as free
    assert created.status_code == 201, created.text
    product = created.json()["data"]
    assert product["free"] is True and [s["price"] for s in product["skus"]] == [0, 0]
    assert anonymous.get(f"/api/v1/products/{product['product_id']}").json()["data"]["free"] is True
    # AND a price on a free product is refused (free means free)
    priced = seller.post("/api/v1/products", json=_product(leaf_category_id, [0, 100], free=True))
    assert priced.status_code == 400 and priced.json()["error"]["code"] == "VALIDATION_ERROR"


def test_an_update_cannot_price_a_sku_at_0_unless_the_product_becomes_free(seller, anonymous, leaf_category_id):
    # GIVEN a priced product
    product = seller.post("/api/v1/products", json=_product(leaf_category_id, [1500])).json()["data"]
    path, sku = f"/api/v1/products/{product['product_id']}", product["skus"][0]["sku_id"]
    # WHEN its SKU is repriced at 0
    zero = seller.request("PUT", path, json={"skus": [{"sku_id": sku, "price": 0, "currency": "USD"}]})
    # THEN 400 ZERO_PRICE and the product is unchanged
    assert zero.status_code == 400 and zero.json()["error"]["code"] == "ZERO_PRICE", zero.text
    page = anonymous.get(path).json()["data"]
    assert (page["version"], page["skus"][0]["price"], page["free"]) == (product["version"], 1500, False)
    # AND marking it free without setting the prices to 0 is refused too
    assert seller.request("PUT", path, json={"free": True}).status_code == 400
    # AND marking it free in the same change as the price of 0 works
    freed = seller.request("PUT", path, json={"free": True, "skus": [{"sku_id": sku, "price": 0, "currency": "USD"}]})
    assert freed.status_code == 200, freed.text
    assert (freed.json()["data"]["free"], freed.json()["data"]["skus"][0]["price"]) == (True, 0)
    # AND ending "free" while a SKU still costs 0 is a ZERO_PRICE
    unfree = seller.request("PUT", path, json={"free": False})
    assert unfree.status_code == 400 and unfree.json()["error"]["code"] == "ZERO_PRICE"
