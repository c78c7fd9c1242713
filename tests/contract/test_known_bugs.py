"""Bugs the contract fuzzing found (schemathesis, and probes of what it hinted at), one request
each. The contract: bad input is a 400 VALIDATION_ERROR, never a 500. Fixed ones stay here as
regression tests (non-UTF-8 bodies, other media types, deep nesting, forged cursors, oversized
products, SKUs past the limit by update, attribute names that are empty or values that are not
Unicode text, category names without a letter or digit). A bug still open is a strict xfail:
when its fix lands, XPASS fails the run and the marker goes (with the input test_fuzz.py
`known_bug` skips meanwhile). None is open now."""

from __future__ import annotations

import base64
import json

import pytest

from tests.contract.conftest import conforms


def _is_validation_error(api_schema, response, method: str, path: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert conforms(api_schema, response, method, path)["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("path", ["/api/v1/auth/refresh", "/api/v1/auth/login"])
def test_a_json_body_that_is_not_utf8_is_a_400(fuzz_users, api_schema, path):
    response = fuzz_users["anonymous"].request("POST", path, data=b"\xe1\x0b/E\xe9", headers={"Content-Type": "application/json"})
    _is_validation_error(api_schema, response, "POST", path)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/octet-stream", "multipart/form-data", "multipart/form-data; boundary=x"],
)
def test_a_body_of_another_media_type_is_a_400(fuzz_users, api_schema, content_type):
    body = b'{"email": "a@example.com", "password": "x"}'
    response = fuzz_users["anonymous"].request("POST", "/api/v1/auth/login", data=body, headers={"Content-Type": content_type})
    _is_validation_error(api_schema, response, "POST", "/api/v1/auth/login")


def test_deeply_nested_json_is_a_400(fuzz_users, api_schema):
    body = "[" * 100_000 + "]" * 100_000
    response = fuzz_users["anonymous"].request(
        "POST", "/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    _is_validation_error(api_schema, response, "POST", "/api/v1/auth/login")


def _is_invalid_cursor(api_schema, response, method: str, path: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert conforms(api_schema, response, method, path)["error"]["code"] == "INVALID_CURSOR"


def test_a_forged_product_list_cursor_is_a_400(fuzz_users, fuzz_world, api_schema):
    cursor = base64.urlsafe_b64encode(json.dumps({"pk": "x"}).encode()).decode()
    response = fuzz_users["anonymous"].request(
        "GET", "/api/v1/products", params={"category": fuzz_world["category_id"], "cursor": cursor}
    )
    _is_invalid_cursor(api_schema, response, "GET", "/api/v1/products")


def test_a_search_cursor_with_values_of_the_wrong_type_is_a_400(fuzz_users, api_schema):
    anonymous = fuzz_users["anonymous"]
    first = conforms(
        api_schema, anonymous.request("GET", "/api/v1/search", params={"sort": "price_asc", "limit": 1}), "GET", "/api/v1/search"
    )
    cursor = first["data"]["next_cursor"]
    assert cursor, "the demo catalog has more than one product"
    encoded, mac = cursor.split(".")  # shared/cursors.py: <payload>.<HMAC>
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    payload["v"]["a"] = ["zzz"] * len(payload["v"]["a"])  # strings where the sort values are numbers
    forged = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    response = anonymous.request("GET", "/api/v1/search", params={"sort": "price_asc", "limit": 1, "cursor": f"{forged}.{mac}"})
    _is_invalid_cursor(api_schema, response, "GET", "/api/v1/search")


def _product(seller, fuzz_world, **fields):
    body = {
        "title": "Known Bug Probe",
        "brand": "Fuzzco",
        "category_id": fuzz_world["category_id"],
        "skus": [{"options": {"size": "S"}, "price": 100, "currency": "USD"}],
        **fields,
    }
    return seller.request("POST", "/api/v1/products", json=body)


def _fields(response) -> dict[str, str]:
    return {field["field"]: field["message"] for field in response.json()["error"]["details"]["fields"]}


def test_an_oversized_product_is_a_400(fuzz_users, fuzz_world, api_schema):
    # Was a 500: attribute values had no length limit, so the item passed DynamoDB's 400 KB.
    response = _product(fuzz_users["seller"], fuzz_world, attributes={"notes": "x" * 420_000})
    _is_validation_error(api_schema, response, "POST", "/api/v1/products")
    assert "at most 1000 characters" in _fields(response)["body.attributes.notes.str"]


def test_an_update_cannot_grow_a_product_past_50_skus(fuzz_users, fuzz_world, api_schema):
    # Was a 200 with 51 SKUs: an update added SKUs past MAX_SKUS (50), which create refuses.
    seller = fuzz_users["seller"]
    product = conforms(api_schema, _product(seller, fuzz_world), "POST", "/api/v1/products")["data"]
    more = [{"options": {"size": f"n{index}"}, "price": 100, "currency": "USD"} for index in range(50)]
    response = seller.request("PUT", f"/api/v1/products/{product['product_id']}", json={"skus": more})
    _is_validation_error(api_schema, response, "PUT", "/api/v1/products/{product_id}")
    assert "at most 50 SKUs" in _fields(response)["body.skus"]
    # Nothing was written: the product is as created.
    after = conforms(
        api_schema, seller.request("GET", f"/api/v1/products/{product['product_id']}"), "GET", "/api/v1/products/{product_id}"
    )
    assert len(after["data"]["skus"]) == 1 and after["data"]["version"] == product["version"]


@pytest.mark.parametrize("name", ["", "   "])
def test_a_product_attribute_needs_a_name(fuzz_users, fuzz_world, api_schema, name):
    # Was a 201, and the item then broke every read of it (GET, reviews: 500) and the catalog
    # stream's consumers (search indexer, cache invalidator).
    response = _product(fuzz_users["seller"], fuzz_world, attributes={name: "x"})
    _is_validation_error(api_schema, response, "POST", "/api/v1/products")
    assert "at least 1 character" in _fields(response)[f"body.attributes.{name}.[key]"]


def test_a_product_attribute_needs_a_name_in_the_model_too():
    from pydantic import ValidationError

    from functions.catalog.schemas import CreateProductRequest

    body = {
        "title": "T",
        "brand": "B",
        "category_id": "cat_" + "0" * 26,
        "attributes": {"": "x"},
        "skus": [{"options": {}, "price": 1, "currency": "USD"}],
    }
    with pytest.raises(ValidationError):
        CreateProductRequest.model_validate(body)


@pytest.mark.parametrize("attributes", ['{"k": "\\udb37"}', '{"k": ["\\udb37"]}', '{"\\udb37": "v"}'])
def test_a_product_attribute_value_must_be_encodable(fuzz_users, fuzz_world, api_schema, attributes):
    # Was a 500: a lone surrogate in an attribute value passed validation (plain str fields
    # refuse it) and the write failed. Sent as raw JSON: the escape is valid JSON, not UTF-8 text.
    seller = fuzz_users["seller"]
    product = conforms(api_schema, _product(seller, fuzz_world), "POST", "/api/v1/products")["data"]
    body = json.dumps({"attributes": json.loads(attributes)})  # ASCII: the surrogate stays a \\u escape
    response = seller.request(
        "PUT", f"/api/v1/products/{product['product_id']}", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    _is_validation_error(api_schema, response, "PUT", "/api/v1/products/{product_id}")
    assert all(field.startswith("body.attributes.") for field in _fields(response))


@pytest.mark.parametrize("name", ["!!!", "—"])
def test_a_category_name_needs_a_letter_or_digit(fuzz_users, api_schema, name):
    # Was a 201 with the fallback slug "category" for every such name (so the second one under a
    # parent was a 409 for a name nobody had used): the slug had nothing to be made of.
    response = fuzz_users["admin"].request("POST", "/api/v1/categories", json={"name": name})
    _is_validation_error(api_schema, response, "POST", "/api/v1/categories")
    assert "name must contain a letter or digit" in _fields(response)["body.name"]
