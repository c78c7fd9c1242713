"""200 concurrent conditional writes through the local stack over HTTP: none lost, none doubled."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests


def _post(base_url: str, token: str, body: dict) -> int:
    response = requests.post(
        f"{base_url}/api/v1/categories", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    if response.status_code == 201:
        # Each response answers its own request (powertools keeps the current event on a class
        # attribute; the local runtime must keep concurrent requests apart, as Lambda does).
        assert response.json()["data"]["name"] == body["name"]
    return response.status_code


def _children(base_url: str, parent_id: str) -> list[dict]:
    def find(nodes):
        for node in nodes:
            if node["category_id"] == parent_id:
                return node["children"]
            found = find(node["children"])
            if found is not None:
                return found
        return None

    return find(requests.get(f"{base_url}/api/v1/categories", timeout=30).json()["data"])


def test_200_concurrent_creates_are_all_applied_exactly_once(local_stack, admin, tokens):
    # GIVEN a parent category
    parent = admin.post("/api/v1/categories", json={"name": f"Load {uuid.uuid4().hex[:6]}"}).json()["data"]
    token = tokens["admin"]["AccessToken"]
    names = [f"Item {i:03d}" for i in range(200)]
    # WHEN 200 transactional conditional writes run at once from 32 threads over HTTP
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda n: _post(local_stack.url, token, {"name": n, "parent_id": parent["category_id"]}), names))
    # THEN every one succeeded and each category exists exactly once
    assert statuses == [201] * 200
    children = _children(local_stack.url, parent["category_id"])
    assert sorted(child["name"] for child in children) == names


def test_concurrent_duplicates_create_exactly_one(local_stack, admin, tokens):
    # GIVEN 64 clients racing to create the same sibling
    parent = admin.post("/api/v1/categories", json={"name": f"Race {uuid.uuid4().hex[:6]}"}).json()["data"]
    token = tokens["admin"]["AccessToken"]
    body = {"name": "Only Once", "parent_id": parent["category_id"]}
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda _: _post(local_stack.url, token, body), range(64)))
    # THEN exactly one wins, the rest get 409, and one category exists
    assert statuses.count(201) == 1
    assert statuses.count(409) == 63
    assert [c["name"] for c in _children(local_stack.url, parent["category_id"])] == ["Only Once"]


def test_concurrent_requests_use_separate_handler_instances(local_stack):
    # Lambda serves concurrent requests from separate instances; the local runtime must too,
    # or one request could read another's event from the handler module's globals.
    function = next(r.function_name for r in local_stack.gateway.routes if r.key == "POST /api/v1/categories")
    assert local_stack.runtime.instance_count(function) > 1
