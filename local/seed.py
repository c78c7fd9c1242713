"""Demo data for the local stack, written through the real API where one exists.

Accounts go straight into the Cognito pool (as an operator would with admin APIs); categories
go through `POST /api/v1/categories` as the demo admin, so seeding exercises the real path.
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from local.stack import LocalStack

DEMO_USERS: list[tuple[str, str]] = [
    ("admin@example.com", "admin"),
    ("seller@example.com", "seller"),
    ("customer@example.com", "customer"),
]

DEMO_CATEGORIES: dict[str, list[str]] = {
    "Electronics": ["Phones", "Laptops", "TVs", "Audio"],
    "Clothing": ["T-Shirts", "Jeans", "Shoes", "Jackets"],
    "Home & Kitchen": ["Cookware", "Furniture", "Lighting"],
    "Books": ["Fiction", "Non-Fiction", "Children"],
    "Sports & Outdoors": ["Cycling", "Camping", "Fitness"],
}


def create_user(stack: LocalStack, email: str, role: str, password: str) -> str:
    """An active, confirmed user in `role`'s group; returns its `sub`."""
    cognito = boto3.client("cognito-idp", endpoint_url=stack.moto.endpoint)
    pool = stack.user_pool_id
    created = cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
    return next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")


def sign_in(stack: LocalStack, email: str, password: str) -> dict[str, Any]:
    cognito = boto3.client("cognito-idp", endpoint_url=stack.moto.endpoint)
    result = cognito.initiate_auth(
        ClientId=stack.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return result["AuthenticationResult"]


def api_call(stack: LocalStack, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{stack.url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def seed_demo_data(stack: LocalStack) -> None:
    """Accounts, the category tree and the whole demo catalog, before returning."""
    seller_token, category_ids = seed_accounts_and_categories(stack)
    seed_products(stack, seller_token, category_ids)


def seed_accounts_and_categories(stack: LocalStack) -> tuple[str, dict[str, str]]:
    """The demo accounts and the category tree (a few dozen calls, one at a time: what a first request needs);
    returns the demo seller's access token and the category ids by name, for `seed_products`."""
    for email, role in DEMO_USERS:
        create_user(stack, email, role, stack.demo_password)
    token = sign_in(stack, DEMO_USERS[0][0], stack.demo_password)["AccessToken"]
    category_ids = seed_categories(stack, token)
    seller_token = sign_in(stack, DEMO_USERS[1][0], stack.demo_password)["AccessToken"]
    return seller_token, category_ids


def seed_products(stack: LocalStack, token: str, category_ids: dict[str, str], stop: Any = None, count: int | None = None) -> int:
    """The demo seller lists the demo catalog and sets its stock, all through the API; returns
    how many products it listed. `stop` (a threading.Event) set: the products not started yet
    are skipped (the stack is stopping under a background seed)."""
    from concurrent.futures import ThreadPoolExecutor

    from local.demo_catalog import demo_products

    def create(entry: tuple[dict[str, Any], list[int]]) -> int:
        body, stock = entry
        if stop is not None and stop.is_set():
            return 0
        status, created = api_call(stack, "POST", "/api/v1/products", body, token)
        if status != 201:
            raise RuntimeError(f"seeding product {body['title']!r} failed: {status} {created}")
        for sku, on_hand in zip(created["data"]["skus"], stock, strict=True):
            status, answer = api_call(stack, "PUT", f"/api/v1/inventory/{sku['sku_id']}", {"on_hand": on_hand}, token)
            if status != 200:
                raise RuntimeError(f"seeding stock of {sku['sku_id']} failed: {status} {answer}")
        return 1

    catalog = demo_products(category_ids) if count is None else demo_products(category_ids, count=count)
    if not catalog:
        return 0
    # Concurrent cold starts of one handler module in this one process can race in pydantic's lazy
    # TypeAdapter build (500 "not fully defined"; on Lambda each instance is its own process).
    first = create(catalog[0])  # alone: its handlers' cold starts happen before concurrent calls
    with ThreadPoolExecutor(max_workers=8) as pool:
        return first + sum(pool.map(create, catalog[1:]))


def seed_categories(stack: LocalStack, token: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for parent_name, children in DEMO_CATEGORIES.items():
        status, parent = api_call(stack, "POST", "/api/v1/categories", {"name": parent_name}, token)
        if status != 201:
            raise RuntimeError(f"seeding category {parent_name!r} failed: {status} {parent}")
        ids[parent_name] = parent["data"]["category_id"]
        for child in children:
            status, body = api_call(
                stack, "POST", "/api/v1/categories", {"name": child, "parent_id": parent["data"]["category_id"]}, token
            )
            if status != 201:
                raise RuntimeError(f"seeding category {child!r} failed: {status} {body}")
            ids[child] = body["data"]["category_id"]
    return ids
