"""List cursors are signed (shared/cursors.py, ADR 0021): only what this API handed out pages on.

Over HTTP on the session's stack: a forged, tampered or foreign cursor is a 400 INVALID_CURSOR on
every list, and a rotation of the cursor secret keeps the cursors clients hold working until the
previous key is dropped.
"""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from shared import cursors


def _forged(payload: dict) -> str:
    """A cursor in the unsigned format these lists used to accept."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _tampered(cursor: str) -> str:
    """The same cursor with one character of its payload changed."""
    payload, mac = cursor.split(".")
    flipped = "A" if payload[5] != "A" else "B"
    return f"{payload[:5]}{flipped}{payload[6:]}.{mac}"


def _is_invalid_cursor(response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_CURSOR" and error["details"]["fields"][0]["field"] == "query.cursor"


@pytest.fixture(scope="module")
def products_cursor(anonymous, leaf_category_id) -> str:
    first = anonymous.get("/api/v1/products", params={"category": leaf_category_id, "limit": 1})
    assert first.status_code == 200 and first.json()["data"]["next_cursor"], first.text
    return first.json()["data"]["next_cursor"]


def test_a_forged_search_cursor_with_nan_is_a_400_not_a_500(anonymous):
    from functions.search.queries import SearchParams

    # GIVEN a search cursor written by hand in the old format for this very search (its
    # fingerprint), with NaN as the sort value: the unsigned format let it reach OpenSearch (a 500)
    first = anonymous.get("/api/v1/search", params={"sort": "price_asc", "limit": 1}).json()["data"]
    assert first["next_cursor"], "the demo catalog has more than one product"
    fingerprint = SearchParams(sort="price_asc").fingerprint()
    forged = '{"v":1,"s":"price_asc","f":"' + fingerprint + '","a":[NaN,"prd_x"]}'
    forged = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
    # WHEN it is sent back
    response = anonymous.get("/api/v1/search", params={"sort": "price_asc", "limit": 1, "cursor": forged})
    # THEN it is refused as a cursor, before OpenSearch sees it
    _is_invalid_cursor(response)
    # AND the genuine one pages on
    second = anonymous.get("/api/v1/search", params={"sort": "price_asc", "limit": 1, "cursor": first["next_cursor"]})
    assert second.status_code == 200 and second.json()["data"]["items"][0]["product_id"] != first["items"][0]["product_id"]


def test_a_tampered_cursor_is_refused_on_every_list(anonymous, customer, seller, leaf_category_id, products_cursor):
    search = anonymous.get("/api/v1/search", params={"sort": "price_asc", "limit": 1}).json()["data"]["next_cursor"]
    product_id = anonymous.get("/api/v1/products", params={"category": leaf_category_id, "limit": 1}).json()["data"]["items"][0]["product_id"]
    # WHEN a genuine cursor has one character of its payload changed, on each list
    answers = [
        anonymous.get("/api/v1/search", params={"sort": "price_asc", "limit": 1, "cursor": _tampered(search)}),
        anonymous.get("/api/v1/products", params={"category": leaf_category_id, "limit": 1, "cursor": _tampered(products_cursor)}),
    ]
    # AND cursors of the unsigned format the other lists accepted until now
    answers += [
        anonymous.get(f"/api/v1/products/{product_id}/reviews", params={"cursor": _forged({"sk": "REVIEW#0"})}),
        customer.get("/api/v1/orders", params={"cursor": _forged({"k": "2026-01-01T00:00:00#ord_x"})}),
        seller.get("/api/v1/seller/orders", params={"cursor": _forged({"k": "2026-01-01T00:00:00#ord_x"})}),
    ]
    # THEN every one is a 400 INVALID_CURSOR
    for response in answers:
        _is_invalid_cursor(response)


def test_a_genuine_cursor_of_another_list_or_caller_is_refused(anonymous, customer, leaf_category_id, products_cursor, tokens):
    tree = anonymous.get("/api/v1/categories").json()["data"]
    other_category = next(child["category_id"] for node in tree for child in node["children"] if child["category_id"] != leaf_category_id)
    product_id = anonymous.get("/api/v1/products", params={"category": leaf_category_id, "limit": 1}).json()["data"]["items"][0]["product_id"]
    # WHEN a signed cursor is sent to another category's list, to a product's reviews, or to orders
    # AND a signed orders cursor of another user's list is sent by the customer
    someone_elses = cursors.encode("orders", "USER#someone-else", "2026-01-01T00:00:00#ord_x")
    answers = [
        anonymous.get("/api/v1/products", params={"category": other_category, "cursor": products_cursor}),
        anonymous.get(f"/api/v1/products/{product_id}/reviews", params={"cursor": products_cursor}),
        customer.get("/api/v1/orders", params={"cursor": products_cursor}),
        customer.get("/api/v1/orders", params={"cursor": someone_elses}),
    ]
    # THEN each is refused: a cursor pages only the list it came from
    for response in answers:
        _is_invalid_cursor(response)


def test_rotating_the_cursor_secret_keeps_held_cursors_working_until_the_previous_key_is_dropped(
    local_stack, anonymous, leaf_category_id
):
    from ops.rotate_cursor_secret import new_key
    from ops.rotate_webhook_secret import drop_previous, rotate

    params = {"category": leaf_category_id, "limit": 1}
    held = anonymous.get("/api/v1/products", params=params).json()["data"]["next_cursor"]
    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    # the secret the functions read (other stacks' templates may have put cursor secrets in this moto too)
    arn = local_stack.runtime.environment[cursors.SECRET_ARN_VARIABLE]
    try:
        # WHEN the key is rotated (and the functions' 5-minute key cache has run out)
        rotate(client, arn, new_key())
        cursors._cache.clear()
        # THEN the cursor a client holds still pages on, and new cursors are signed with the new key
        assert anonymous.get("/api/v1/products", params={**params, "cursor": held}).status_code == 200
        fresh = anonymous.get("/api/v1/products", params=params).json()["data"]["next_cursor"]
        assert fresh != held
        # WHEN the overlap ends
        drop_previous(client, arn)
        cursors._cache.clear()
        # THEN only cursors of the current key page on
        _is_invalid_cursor(anonymous.get("/api/v1/products", params={**params, "cursor": held}))
        assert anonymous.get("/api/v1/products", params={**params, "cursor": fresh}).status_code == 200
    finally:
        cursors._cache.clear()
