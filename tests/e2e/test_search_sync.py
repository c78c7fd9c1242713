"""Catalog -> DynamoDB stream -> indexer -> OpenSearch, end to end over HTTP on the local stack."""

from __future__ import annotations

import time
import uuid


def _eventually(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def _search(api, **params) -> dict:
    response = api.get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_new_product_is_found_with_a_typo_then_reprices_then_leaves_search(seller, anonymous):
    tree = anonymous.get("/api/v1/categories").json()["data"]
    audio = next(c for n in tree for c in n["children"] if c["name"] == "Audio")["category_id"]
    word = "zephyr" + uuid.uuid4().hex[:4]  # a word no other product has
    body = {"title": f"Wireless {word} Headphones", "brand": "Sonora", "category_id": audio,
            "skus": [{"options": {"color": "Blue"}, "price": 5999, "currency": "USD"}]}
    product = seller.post("/api/v1/products", json=body).json()["data"]
    pid, sku = product["product_id"], product["skus"][0]["sku_id"]
    typo = word[:2] + word[3] + word[2] + word[4:]  # two letters swapped

    # WHEN it is created  THEN search finds it within 5 s, even with a typo
    found = _eventually(lambda: [i for i in _search(anonymous, q=typo)["items"] if i["product_id"] == pid])
    assert found and found[0]["price"] == 5999

    # WHEN its price changes  THEN search and the product page show the new price within 5 s
    seller.request("PUT", f"/api/v1/products/{pid}", json={"skus": [{"sku_id": sku, "price": 4999, "currency": "USD"}]})
    assert _eventually(lambda: [i for i in _search(anonymous, q=word)["items"] if i["product_id"] == pid and i["price"] == 4999])
    assert _eventually(lambda: anonymous.get(f"/api/v1/products/{pid}").json()["data"]["skus"][0]["price"] == 4999)

    # WHEN it is deleted  THEN it leaves search and its page is 404
    assert seller.request("DELETE", f"/api/v1/products/{pid}").status_code == 204
    assert _eventually(lambda: not [i for i in _search(anonymous, q=word)["items"] if i["product_id"] == pid])
    # (the page's cached copy is dropped by its own stream consumer, also within seconds)
    assert _eventually(lambda: anonymous.get(f"/api/v1/products/{pid}").status_code == 404)


def test_the_demo_catalog_is_searchable_with_facets(anonymous):
    data = _eventually(lambda: (d := _search(anonymous, q="tshirt")) and d["total"] > 0 and d)
    assert data["total"] > 0 and data["facets"]["brand"] and data["facets"]["size"]
    suggestions = anonymous.get("/api/v1/search/suggest", params={"q": "wir"}).json()["data"]["suggestions"]
    assert suggestions
    bad = anonymous.get("/api/v1/search", params={"sort": "sideways"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def _ids(api, **params) -> set[str]:
    return {item["product_id"] for item in _search(api, limit=100, **params)["items"]}


def test_a_sold_out_product_leaves_in_stock_results_and_returns_when_restocked(seller, anonymous, stocked_product):
    # GIVEN a product whose two SKUs have stock (set by the seller through the inventory API)
    product = stocked_product([3, 2])
    pid, word = product["product_id"], product["title"].split()[-1]  # its title ends with a unique word
    assert _eventually(lambda: pid in _ids(anonymous, q=word, in_stock="true"))

    # WHEN every SKU goes to 0 available
    for sku in product["skus"]:
        response = seller.request("PUT", f"/api/v1/inventory/{sku['sku_id']}", json={"on_hand": 0})
        assert response.status_code == 200 and response.json()["data"]["available"] == 0, response.text
    # THEN within 5 s in_stock=true no longer finds it, and without the filter it is still there
    assert _eventually(lambda: pid not in _ids(anonymous, q=word, in_stock="true"))
    assert pid in _ids(anonymous, q=word) and pid in _ids(anonymous, q=word, in_stock="false")

    # WHEN one SKU is restocked  THEN within 5 s it is back in in_stock=true results
    assert seller.request("PUT", f"/api/v1/inventory/{product['skus'][1]['sku_id']}", json={"on_hand": 4}).status_code == 200
    assert _eventually(lambda: pid in _ids(anonymous, q=word, in_stock="true"))
