"""GET/POST /api/v1/categories through the local HTTP gateway (API Gateway -> Lambda -> DynamoDB)."""

from __future__ import annotations

import uuid

from local.seed import DEMO_CATEGORIES


def _names(tree: list[dict]) -> list[str]:
    return [node["name"] for node in tree]


def _find(tree: list[dict], category_id: str) -> dict | None:
    for node in tree:
        if node["category_id"] == category_id:
            return node
        found = _find(node["children"], category_id)
        if found:
            return found
    return None


def test_seeded_tree_is_public_and_nested(anonymous):
    # GIVEN the demo data  WHEN anyone reads the tree without a token
    response = anonymous.get("/api/v1/categories")
    # THEN it is the seeded tree, roots and children sorted by name, in the success envelope
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["meta"]["request_id"] and body["meta"]["timestamp"].endswith("+00:00")
    tree = body["data"]
    assert set(DEMO_CATEGORIES) <= set(_names(tree))
    assert _names(tree) == sorted(_names(tree), key=str.lower)
    electronics = next(node for node in tree if node["name"] == "Electronics")
    assert _names(electronics["children"]) == sorted(DEMO_CATEGORIES["Electronics"], key=str.lower)
    assert all(child["parent_id"] == electronics["category_id"] for child in electronics["children"])


def test_admin_creates_root_and_child(admin, anonymous):
    name = f"Garden {uuid.uuid4().hex[:6]}"
    # WHEN an admin creates a root category and a child under it
    root = admin.post("/api/v1/categories", json={"name": f"  {name}  "})
    assert root.status_code == 201, root.text
    root_data = root.json()["data"]
    child = admin.post("/api/v1/categories", json={"name": "Tools", "parent_id": root_data["category_id"]})
    assert child.status_code == 201, child.text
    # THEN both appear in the public tree, the child under its parent, the name trimmed
    assert root_data["name"] == name and root_data["slug"] == name.lower().replace(" ", "-")
    tree = anonymous.get("/api/v1/categories").json()["data"]
    node = _find(tree, root_data["category_id"])
    assert node is not None and _names(node["children"]) == ["Tools"]


def test_duplicate_sibling_is_a_conflict_but_cousins_may_share_a_name(admin):
    parent_a = admin.post("/api/v1/categories", json={"name": f"A {uuid.uuid4().hex[:6]}"}).json()["data"]
    parent_b = admin.post("/api/v1/categories", json={"name": f"B {uuid.uuid4().hex[:6]}"}).json()["data"]
    first = admin.post("/api/v1/categories", json={"name": "Accessories", "parent_id": parent_a["category_id"]})
    # WHEN the same name is created again under the same parent, and under another parent
    again = admin.post("/api/v1/categories", json={"name": "accessories!", "parent_id": parent_a["category_id"]})
    cousin = admin.post("/api/v1/categories", json={"name": "Accessories", "parent_id": parent_b["category_id"]})
    # THEN the sibling is 409 ALREADY_EXISTS and the cousin is fine
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ALREADY_EXISTS"
    assert cousin.status_code == 201


def test_only_admins_create(customer, seller, anonymous):
    # GIVEN a valid body  WHEN a customer, a seller, and nobody post it
    for api in (customer, seller):
        response = api.post("/api/v1/categories", json={"name": "Nope"})
        # THEN signed-in non-admins get 403 FORBIDDEN in the envelope
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
    # AND without a token API Gateway's authorizer answers 401 before any Lambda runs
    response = anonymous.post("/api/v1/categories", json={"name": "Nope"})
    assert response.status_code == 401


def test_forbidden_caller_learns_nothing_about_the_body(customer):
    response = customer.post("/api/v1/categories", data="{not json")
    assert response.status_code == 403


def test_bad_input_is_400_with_field_details_and_changes_nothing(admin, anonymous):
    before = anonymous.get("/api/v1/categories").json()["data"]
    cases = [
        ("{not json", "VALIDATION_ERROR", None),
        ("{}", "VALIDATION_ERROR", "body.name"),
        ('{"name": ""}', "VALIDATION_ERROR", "body.name"),
        ('{"name": "' + "x" * 81 + '"}', "VALIDATION_ERROR", "body.name"),
        ('{"name": 42}', "VALIDATION_ERROR", "body.name"),
        ('{"name": "Ok", "parent_id": "not-an-id"}', "VALIDATION_ERROR", "body.parent_id"),
        ('{"name": "Ok", "colour": "red"}', "VALIDATION_ERROR", "body.colour"),
        ('{"name": "Ok", "parent_id": "cat_01ARZ3NDEKTSV4RRFFQ69G5FAV"}', "VALIDATION_ERROR", "body.parent_id"),
        ("[1, 2]", "VALIDATION_ERROR", None),
    ]
    for raw, code, field in cases:
        response = admin.post("/api/v1/categories", data=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (raw, response.text)
        error = response.json()["error"]
        assert error["code"] == code, raw
        if field:
            assert field in [f["field"] for f in error["details"]["fields"]], (raw, error)
    assert anonymous.get("/api/v1/categories").json()["data"] == before


def test_unknown_route_and_method_answer_like_api_gateway(anonymous):
    # API Gateway's MISSING_AUTHENTICATION_TOKEN, which our gateway response makes a 404 (infra/api.py)
    for response in (anonymous.get("/api/v1/nothing-here"), anonymous.request("DELETE", "/api/v1/categories")):
        assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND", response.text


def test_a_json_body_sent_as_curls_default_form_type_is_read_as_json(admin):
    name = f"Curl {uuid.uuid4().hex[:6]}"
    response = admin.post("/api/v1/categories", data=f'{{"name": "{name}"}}',
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 201 and response.json()["data"]["name"] == name
