"""Products over HTTP: create, page, list, update, soft delete, ownership and validation."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(scope="module")
def category_id(anonymous) -> str:
    tree = anonymous.get("/api/v1/categories").json()["data"]
    clothing = next(node for node in tree if node["name"] == "Clothing")
    return next(child for child in clothing["children"] if child["name"] == "T-Shirts")["category_id"]


def _product(category_id: str, overrides: dict | None = None, **more) -> dict:
    body = {
        "title": f"Test Tee {uuid.uuid4().hex[:6]}",
        "description": "Soft cotton.",
        "brand": "Northwind",
        "category_id": category_id,
        "attributes": {"material": "cotton", "organic": True},
        "images": ["https://cdn.example.com/tee.jpg"],
        "skus": [
            {"options": {"size": "M", "color": "Blue"}, "price": 1999, "currency": "USD"},
            {"options": {"size": "L", "color": "Blue"}, "price": 2199, "currency": "USD"},
        ],
    }
    body.update(overrides or {}, **more)
    return body


def test_seller_creates_and_anyone_reads_the_product_page(seller, anonymous, category_id):
    created = seller.post("/api/v1/products", json=_product(category_id))
    assert created.status_code == 201, created.text
    product = created.json()["data"]
    assert product["product_id"].startswith("prd_") and all(s["sku_id"].startswith("sku_") for s in product["skus"])
    assert created.headers["Location"] == f"/api/v1/products/{product['product_id']}"
    page = anonymous.get(f"/api/v1/products/{product['product_id']}")
    assert page.status_code == 200
    data = page.json()["data"]
    assert data["seller"]["id"] and data["rating"] == {"average": None, "count": 0}
    assert [s["price"] for s in data["skus"]] == [1999, 2199]
    # New SKUs have no stock yet: availability comes from the inventory (one BatchGetItem).
    assert all(s["availability"] == {"in_stock": False, "available": 0} for s in data["skus"])


def test_seeded_products_have_stock(anonymous, category_id):
    # Newest first: other tests add products without stock to this category, so take the oldest,
    # which the seed created before any test ran.
    listed = anonymous.get("/api/v1/products", params={"category": category_id, "limit": 100}).json()["data"]["items"]
    assert listed
    page = anonymous.get(f"/api/v1/products/{listed[-1]['product_id']}").json()["data"]
    assert any(s["availability"]["in_stock"] for s in page["skus"])


def test_customers_cannot_list_products(customer, category_id):
    response = customer.post("/api/v1/products", json=_product(category_id))
    assert response.status_code == 403


@pytest.mark.parametrize("change,field", [
    ({"title": ""}, "body.title"),
    ({"skus": []}, "body.skus"),
    ({"skus": [{"options": {}, "price": 19.99, "currency": "USD"}]}, "body.skus.0.price"),
    ({"skus": [{"options": {}, "price": -1, "currency": "USD"}]}, "body.skus.0.price"),
    ({"skus": [{"options": {}, "price": 1, "currency": "usd"}]}, "body.skus.0.currency"),
    ({"images": ["http://insecure.example.com/x.jpg"]}, "body.images.0"),
    ({"category_id": "cat_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "body.category_id"),
    ({"category_id": "nope"}, "body.category_id"),
    ({"colour": "red"}, "body.colour"),
])
def test_invalid_products_are_400_with_field_details(seller, category_id, change, field):
    response = seller.post("/api/v1/products", json=_product(category_id, change))
    assert response.status_code == 400, response.text
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]], response.json()


def test_duplicate_sku_options_are_rejected(seller, category_id):
    skus = [{"options": {"size": "M"}, "price": 1, "currency": "USD"}] * 2
    assert seller.post("/api/v1/products", json=_product(category_id, skus=skus)).status_code == 400


def test_owner_updates_prices_and_another_seller_cannot_touch_it(local_stack, seller, anonymous, category_id):
    product = seller.post("/api/v1/products", json=_product(category_id)).json()["data"]
    pid, sku = product["product_id"], product["skus"][0]
    updated = seller.request("PUT", f"/api/v1/products/{pid}", json={
        "title": "Renamed", "skus": [{"sku_id": sku["sku_id"], "price": 1499, "currency": "USD"},
                                     {"options": {"size": "XL", "color": "Blue"}, "price": 2399, "currency": "USD"}]})
    assert updated.status_code == 200, updated.text
    data = updated.json()["data"]
    assert data["title"] == "Renamed" and data["version"] == product["version"] + 1
    assert {s["sku_id"]: s["price"] for s in data["skus"]}[sku["sku_id"]] == 1499 and len(data["skus"]) == 3
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["skus"][0]["price"] == 1499
    # Another seller: the product looks missing (404), for edit and delete alike.
    from tests.conftest import Api

    other_email = f"other.seller.{uuid.uuid4().hex[:8]}@example.com"
    anonymous.post("/api/v1/auth/register", json={"email": other_email, "password": "Str0ng-Passw0rd!", "name": "Other", "role": "seller"})
    token = anonymous.post("/api/v1/auth/login", json={"email": other_email, "password": "Str0ng-Passw0rd!"}).json()["data"]["access_token"]
    other = Api(local_stack.url, token)
    assert other.request("PUT", f"/api/v1/products/{pid}", json={"title": "Mine now"}).status_code == 404
    assert other.request("DELETE", f"/api/v1/products/{pid}").status_code == 404
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["title"] == "Renamed"


def test_bad_updates_change_nothing(seller, anonymous, category_id):
    product = seller.post("/api/v1/products", json=_product(category_id)).json()["data"]
    pid = product["product_id"]
    for body in ({"skus": [{"sku_id": "sku_01ARZ3NDEKTSV4RRFFQ69G5FAV", "price": 1, "currency": "USD"}]},
                 {"skus": [{"price": 1, "currency": "USD"}]},
                 {"skus": [{"sku_id": product["skus"][0]["sku_id"], "price": 1, "currency": "EUR"}]},
                 {"category_id": "cat_01ARZ3NDEKTSV4RRFFQ69G5FAV"}):
        assert seller.request("PUT", f"/api/v1/products/{pid}", json=body).status_code == 400, body
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["version"] == product["version"]


def test_soft_delete_hides_the_product(seller, anonymous, admin, category_id):
    pid = seller.post("/api/v1/products", json=_product(category_id)).json()["data"]["product_id"]
    deleted = seller.request("DELETE", f"/api/v1/products/{pid}")
    assert deleted.status_code == 204 and not deleted.content
    assert anonymous.get(f"/api/v1/products/{pid}").status_code == 404
    assert seller.request("DELETE", f"/api/v1/products/{pid}").status_code == 404
    listed = anonymous.get("/api/v1/products", params={"category": category_id, "limit": 100}).json()["data"]["items"]
    assert pid not in [p["product_id"] for p in listed]
    # An admin may delete anyone's product.
    other = seller.post("/api/v1/products", json=_product(category_id)).json()["data"]["product_id"]
    assert admin.request("DELETE", f"/api/v1/products/{other}").status_code == 204


def test_listing_paginates_newest_first_visiting_each_product_once(seller, anonymous, local_stack):
    tree = anonymous.get("/api/v1/categories").json()["data"]
    books = next(node for node in tree if node["name"] == "Books")
    fiction = next(c for c in books["children"] if c["name"] == "Fiction")["category_id"]
    created = {seller.post("/api/v1/products", json=_product(fiction)).json()["data"]["product_id"] for _ in range(7)}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"category": fiction, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = anonymous.get("/api/v1/products", params=params).json()["data"]
        seen += [p["product_id"] for p in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and created <= set(seen)
    assert anonymous.get("/api/v1/products", params={"category": fiction, "cursor": "!!"}).status_code == 400
    assert anonymous.get("/api/v1/products").status_code == 400
    assert anonymous.get("/api/v1/products", params={"category": fiction, "limit": 101}).status_code == 400
