"""Checkout fixtures: fresh shoppers (each with their own cart), and helpers that drive the
sandbox provider and wait for the saga, all over HTTP against the session's local stack."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.conftest import Api
from tests.support.waiting import wait_until  # noqa: F401 - re-exported to the tests here

ADDRESS = {"name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
PASSWORD = "Str0ng-Passw0rd!"


def register(local_stack, role: str = "customer") -> Api:
    anonymous = Api(local_stack.url)
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    created = anonymous.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": f"Test {role}", "role": role})
    assert created.status_code == 201, created.text
    login = anonymous.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    api = Api(local_stack.url, login.json()["data"]["access_token"])
    api.user_id = created.json()["data"]["user_id"]  # type: ignore[attr-defined]
    return api


@pytest.fixture
def shopper(local_stack) -> Api:
    return register(local_stack)


@pytest.fixture
def secret(local_stack) -> str:
    """The sandbox provider's current webhook signing secret (what the local stack signs with)."""
    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    arn = local_stack.runtime.environment["PAYMENT_WEBHOOK_SECRET_ARN"]
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])["current"]


def stock(seller: Api, sku_id: str) -> dict[str, int]:
    response = seller.get(f"/api/v1/inventory/{sku_id}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return {key: data[key] for key in ("on_hand", "reserved", "available")}


def checkout(api: Api, key: str | None = None, address: dict[str, Any] | None = None):
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    return api.post("/api/v1/orders", json={"shipping_address": address or ADDRESS}, headers=headers)


def payable(api: Api, response) -> dict[str, Any]:
    """The order a checkout answered, once it has its payment page (a 202 is polled until then)."""
    assert response.status_code in (201, 202), response.text
    order = response.json()["data"]
    deadline = time.monotonic() + 30
    while not order["payment"] and time.monotonic() < deadline:
        time.sleep(0.1)
        order = api.get(f"/api/v1/orders/{order['order_id']}").json()["data"]
    assert order["payment"], order
    return order


def pay(payment_url: str, outcome: str = "succeeded") -> dict[str, Any]:
    response = Api("").post(payment_url, json={"outcome": outcome})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def wait_for_order(api: Api, order_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        order = api.get(f"/api/v1/orders/{order_id}").json()["data"]
        if order["status"] in statuses or time.monotonic() > deadline:
            assert order["status"] in statuses, order
            return order
        time.sleep(0.1)




@pytest.fixture
def bought(shopper, seller, stocked_product) -> Callable[..., tuple[dict, str]]:
    """bought(on_hand, quantity) -> (the CONFIRMED order, sku_id): a whole paid checkout."""

    def make(on_hand: int = 10, quantity: int = 2) -> tuple[dict, str]:
        sku = stocked_product([on_hand])["skus"][0]["sku_id"]
        assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity}).status_code in (200, 201)
        order = payable(shopper, checkout(shopper))
        pay(order["payment"]["payment_url"])
        confirmed = wait_for_order(shopper, order["order_id"], ("CONFIRMED",))
        # CommitStock is the step after ConfirmOrder: the checkout is through once the stock is sold
        assert wait_until(lambda: stock(seller, sku)["on_hand"] == on_hand - quantity), stock(seller, sku)
        return confirmed, sku

    return make
