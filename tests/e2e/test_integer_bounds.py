"""Integers beyond any documented bound are a 400 on every route, in bodies and query strings.

Python refuses to convert an integer literal of more than 4,300 digits (a ValueError, not a JSON
error): before the edge bounded them while parsing, such a body was a 500 on any route.
"""

from __future__ import annotations

import pytest

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("caller", "path", "body"),
    [
        ("anonymous", "/api/v1/auth/login", '{"email": "a@example.com", "password": ' + HUGE + "}"),
        ("anonymous", "/api/v1/cart/items", '{"sku_id": "sku_x", "quantity": ' + HUGE + "}"),
        ("customer", "/api/v1/cart/items", '{"sku_id": "sku_x", "quantity": -' + HUGE + "}"),
        ("seller", "/api/v1/products", '{"title": "t", "skus": [{"price": ' + HUGE + ', "currency": "USD"}]}'),
        ("seller", "/api/v1/products", '{"title": "t", "skus": [{"price": 123456789012345678901, "currency": "USD"}]}'),
    ],
    ids=["login-password", "guest-cart-quantity", "cart-negative-quantity", "product-price", "product-price-21-digits"],
)
def test_a_huge_integer_in_a_body_is_a_400(request, caller, path, body):
    api = request.getfixturevalue(caller)
    # WHEN a body carries an integer longer than any bound
    response = api.post(path, data=body, headers={"Content-Type": "application/json"})
    # THEN it is a 400 VALIDATION_ERROR, not a 500
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(customer, constant):
    response = customer.post("/api/v1/cart/items", data='{"sku_id": "sku_x", "quantity": ' + constant + "}",
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR", response.text


@pytest.mark.parametrize(
    "path",
    ids=["search-price_min", "search-limit", "products-limit", "orders-limit"],
    argvalues=[
        f"/api/v1/search?price_min={HUGE}",
        f"/api/v1/search?limit={HUGE}",
        f"/api/v1/products?category=cat_x&limit={HUGE}",
        f"/api/v1/orders?limit={HUGE}",
    ],
)
def test_a_huge_integer_in_a_query_is_a_400(customer, path):
    response = customer.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
