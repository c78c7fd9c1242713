"""Fixtures of the contract tests: the OpenAPI document, and the fuzz world on the session's stack.

The fuzzer writes (products, carts, orders, accounts): it acts as its own users, registered
here, plus the demo admin (admins are never self-registered) on resources of a category of its
own, and it connects from its own loopback address, so its failed sign-ins count against an
address that no other test uses (login throttling is per email + address and per address).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter, defaultdict
from typing import Any

import pytest
import requests

from infra.openapi import DOCUMENT_PATH
from tests.support.addresses import session_from

FUZZ_SOURCE_ADDRESS = "127.0.0.77"
FUZZ_PASSWORD = "Fuzz-Passw0rd!-" + uuid.uuid4().hex[:8]
# What the fuzzer got, per operation: "caller:status" -> count (printed in the terminal summary).
FUZZ_STATS: defaultdict[str, Counter] = defaultdict(Counter)


def pytest_terminal_summary(terminalreporter) -> None:
    """`make fuzz` (or FUZZ_REPORT=1): what the fuzzer reached, per operation."""
    if not FUZZ_STATS or not (os.environ.get("FUZZ_EXAMPLES") or os.environ.get("FUZZ_REPORT")):
        return
    terminalreporter.write_sep("-", "contract fuzzing: answers per operation (caller:status x count)")
    for label, counts in sorted(FUZZ_STATS.items()):
        terminalreporter.write_line(f"{label:48} " + " ".join(f"{key}x{n}" for key, n in sorted(counts.items())))


def load_document() -> dict[str, Any]:
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def load_schema() -> Any:
    import schemathesis

    return schemathesis.openapi.from_dict(load_document())


def fuzz_session() -> requests.Session:
    """A session whose connections come from FUZZ_SOURCE_ADDRESS (any 127/8 address is loopback)."""
    return session_from(FUZZ_SOURCE_ADDRESS)


def conforms(schema: Any, response: requests.Response, method: str, path: str) -> dict[str, Any]:
    """Assert the response is documented for the operation (status, content type, body); its JSON."""
    operation = schema[path][method]
    documented = {str(code) for code in operation.responses.status_codes}
    assert str(response.status_code) in documented, (
        f"{method} {path} answered {response.status_code} (documented: {sorted(documented)}): {response.text[:500]}"
    )
    operation.validate_response(response)
    return response.json() if response.content and response.headers.get("Content-Type", "").startswith("application/json") else {}


class FuzzApi:
    """One caller of the fuzz world: a token (or none) and the fuzz session."""

    def __init__(self, base_url: str, token: str | None, session: requests.Session) -> None:
        self.base_url = base_url
        self.token = token
        self.session = session

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def api_schema() -> Any:
    return load_schema()


@pytest.fixture(scope="session")
def fuzz_users(local_stack, tokens, api_schema) -> dict[str, FuzzApi]:
    """customer, seller (registered through the API, validated against the document), admin (the demo one), anonymous."""
    session = fuzz_session()
    anonymous = FuzzApi(local_stack.url, None, session)
    users = {"anonymous": anonymous, "admin": FuzzApi(local_stack.url, tokens["admin"]["AccessToken"], session)}
    for role in ("customer", "seller"):
        email = f"fuzz-{role}-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": FUZZ_PASSWORD, "name": f"Fuzz {role.title()}", "role": role}
        registered = conforms(api_schema, anonymous.request("POST", "/api/v1/auth/register", json=body), "POST", "/api/v1/auth/register")
        signed_in = anonymous.request("POST", "/api/v1/auth/login", json={"email": email, "password": FUZZ_PASSWORD})
        token = conforms(api_schema, signed_in, "POST", "/api/v1/auth/login")["data"]["access_token"]
        users[role] = FuzzApi(local_stack.url, token, session)
        users[role].user_id = registered["data"]["user_id"]  # type: ignore[attr-defined]
        users[role].email = email  # type: ignore[attr-defined]
    return users


@pytest.fixture(scope="session")
def fuzz_world(fuzz_users, api_schema) -> dict[str, str]:
    """Real ids the fuzzer may put in paths and bodies: its own category, product, SKU, order, payment."""
    admin, seller, customer = fuzz_users["admin"], fuzz_users["seller"], fuzz_users["customer"]

    def call(api: FuzzApi, method: str, path: str, template: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return conforms(api_schema, api.request(method, path, **kwargs), method, template or path)

    category = call(admin, "POST", "/api/v1/categories", json={"name": f"Fuzz {uuid.uuid4().hex[:8]}"})["data"]
    product = call(seller, "POST", "/api/v1/products", json={
        "title": "Contract Fuzz Widget", "description": "Made by tests/contract.", "brand": "Fuzzco",
        "category_id": category["category_id"], "attributes": {"material": "test"}, "images": [],
        "skus": [{"options": {"size": "S"}, "price": 1000, "currency": "USD"},
                 {"options": {"size": "L"}, "price": 1200, "currency": "USD"}],
    })["data"]
    for sku in product["skus"]:
        path = f"/api/v1/inventory/{sku['sku_id']}"
        call(seller, "PUT", path, "/api/v1/inventory/{sku_id}", json={"on_hand": 100_000})
    disposable = call(seller, "POST", "/api/v1/products", json={
        "title": "Contract Fuzz Disposable", "brand": "Fuzzco", "category_id": category["category_id"],
        "skus": [{"options": {}, "price": 500, "currency": "USD"}],
    })["data"]
    sku_id = product["skus"][0]["sku_id"]
    call(customer, "POST", "/api/v1/cart/items", json={"sku_id": sku_id, "quantity": 1})
    address = {"name": "Fuzz Customer", "line1": "1 Test Street", "city": "Testville", "postal_code": "12345", "country": "US"}
    order = call(customer, "POST", "/api/v1/orders", json={"shipping_address": address},
                 headers={"Idempotency-Key": uuid.uuid4().hex})["data"]
    assert order["payment"], order
    return {
        "category_id": category["category_id"], "product_id": product["product_id"], "sku_id": sku_id,
        "disposable_product_id": disposable["product_id"],
        "order_id": order["order_id"], "payment_id": order["payment"]["payment_id"], "user_id": customer.user_id,  # type: ignore[attr-defined]
    }
