"""Reviews over HTTP: buyers only, one per user, the product's rating exact under concurrency."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.conftest import Api
from tests.support.waiting import eventually

PASSWORD = "Str0ng-Passw0rd!"
SHOPPERS = 30


@pytest.fixture(scope="module")
def category_id(anonymous) -> str:
    tree = anonymous.get("/api/v1/categories").json()["data"]
    clothing = next(node for node in tree if node["name"] == "Clothing")
    return next(child for child in clothing["children"] if child["name"] == "T-Shirts")["category_id"]


@pytest.fixture
def new_product(seller, category_id):
    def create() -> dict:
        body = {
            "title": f"Review Tee {uuid.uuid4().hex[:6]}", "brand": "Northwind", "category_id": category_id,
            "skus": [{"options": {"size": "M"}, "price": 1999, "currency": "USD"}],
        }
        response = seller.post("/api/v1/products", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return create


@pytest.fixture
def bought(monkeypatch) -> set[tuple[str, str]]:
    """(user_id, product_id) pairs with a confirmed order. The handlers run in this process and
    look the check up at call time on orders' api (`purchases.confirmed_purchase` in
    functions/reviews/reviews.py), so patching that module reaches them. (Patching
    functions.orders.purchases would not: the api binds its names once, when first imported.)"""
    purchases: set[tuple[str, str]] = set()
    monkeypatch.setattr(
        "functions.orders.api.confirmed_purchase",
        lambda user_id, product_id, other_than=None: "ord_test" if (user_id, product_id) in purchases else None,
    )
    # no real purchase claim to check in the review's transaction (test_review_withdrawal.py has real orders)
    monkeypatch.setattr("functions.orders.api.purchase_check", lambda user_id, product_id, order_id: None)
    return purchases


@pytest.fixture(scope="module")
def customer_id(customer) -> str:
    return customer.get("/api/v1/users/me").json()["data"]["user_id"]


def _shopper(local_stack, index: int) -> tuple[str, Api]:
    anonymous = Api(local_stack.url)
    email = f"reviewer.{index}.{uuid.uuid4().hex[:10]}@example.com"
    registered = anonymous.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": f"Reviewer {index}"})
    assert registered.status_code == 201, registered.text
    login = anonymous.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return registered.json()["data"]["user_id"], Api(local_stack.url, login.json()["data"]["access_token"])


@pytest.fixture(scope="module")
def shoppers(local_stack) -> list[tuple[str, Api]]:
    """30 signed-up customers, registered and signed in in parallel."""
    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(lambda i: _shopper(local_stack, i), range(SHOPPERS)))


def _review(rating: int = 4, **more) -> dict:
    return {"rating": rating, "title": "Great tee", "body": "Fits well.", **more}


def _reviews_url(product_id: str) -> str:
    return f"/api/v1/products/{product_id}/reviews"


def test_a_buyer_reviews_once_and_the_rating_moves(customer, customer_id, anonymous, new_product, bought):
    product = new_product()
    pid = product["product_id"]
    bought.add((customer_id, pid))
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["rating"]["count"] == 0  # now cached
    # WHEN the buyer reviews it
    created = customer.post(_reviews_url(pid), json=_review(4, title="  Great tee  "))
    # THEN 201 with the review, and the product page shows the rating at a new version
    assert created.status_code == 201, created.text
    review = created.json()["data"]
    assert review["review_id"].startswith("rev_") and review["user_id"] == customer_id
    assert (review["rating"], review["title"], review["body"]) == (4, "Great tee", "Fits well.")
    # (the version bump's stream record invalidates the cached page within moments)
    page = eventually(lambda: anonymous.get(f"/api/v1/products/{pid}").json()["data"], lambda p: p["rating"]["count"] == 1, timeout=10)
    assert page["rating"] == {"average": 4.0, "count": 1}
    assert page["version"] == product["version"] + 1
    assert datetime.fromisoformat(page["updated_at"]) >= datetime.fromisoformat(review["created_at"])
    listed = anonymous.get(_reviews_url(pid)).json()["data"]
    assert listed == {"items": [review], "next_cursor": None}
    # AND a second review by the same user is a 409 that changes nothing
    again = customer.post(_reviews_url(pid), json=_review(1))
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_EXISTS"
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["rating"] == {"average": 4.0, "count": 1}
    assert len(anonymous.get(_reviews_url(pid)).json()["data"]["items"]) == 1


def test_only_buyers_may_review(customer, customer_id, anonymous, seller, new_product, bought):
    product, other = new_product(), new_product()
    bought.add((customer_id, other["product_id"]))  # bought another product, not this one
    # Not a buyer of this product: 403; anonymous: 401; the seller of the product: 403.
    denied = customer.post(_reviews_url(product["product_id"]), json=_review())
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
    assert anonymous.post(_reviews_url(product["product_id"]), json=_review()).status_code == 401
    assert seller.post(_reviews_url(product["product_id"]), json=_review()).status_code == 403
    assert anonymous.get(f"/api/v1/products/{product['product_id']}").json()["data"]["rating"]["count"] == 0


def test_until_checkout_exists_nobody_has_bought_anything(customer, new_product):
    # functions.orders.purchases answers False until the checkout issue completes it.
    assert customer.post(_reviews_url(new_product()["product_id"]), json=_review()).status_code == 403


def test_unknown_and_deleted_products_are_404(customer, customer_id, anonymous, seller, new_product, bought):
    unknown = "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    bought.add((customer_id, unknown))
    assert customer.post(_reviews_url(unknown), json=_review()).status_code == 404
    assert anonymous.get(_reviews_url(unknown)).status_code == 404
    pid = new_product()["product_id"]
    bought.add((customer_id, pid))
    assert seller.request("DELETE", f"/api/v1/products/{pid}").status_code == 204
    assert customer.post(_reviews_url(pid), json=_review()).status_code == 404
    assert anonymous.get(_reviews_url(pid)).status_code == 404


def test_a_product_deleted_during_the_review_is_404_and_nothing_is_written(
    local_stack, customer, customer_id, seller, new_product, bought, monkeypatch
):
    # GIVEN the review read the product just before its seller deleted it
    from functions.catalog import store
    from functions.reviews import reviews
    from shared.tables import connection

    pid = new_product()["product_id"]
    bought.add((customer_id, pid))
    stale = reviews.get_product(pid)
    assert seller.request("DELETE", f"/api/v1/products/{pid}").status_code == 204
    monkeypatch.setattr(reviews, "get_product", lambda product_id: stale)
    # WHEN the review's transaction runs: its condition on the product fails
    response = customer.post(_reviews_url(pid), json=_review())
    # THEN 404, and neither the review, its claim nor the rating was written
    assert response.status_code == 404, response.text
    item = store.get_product(pid, consistent=True)
    assert (item.rating_count, item.rating_sum) == (0, 0)
    # (REVIEW# and REVIEWER# items both start with "REVIEW")
    assert connection().client.query(
        TableName=store.table(), KeyConditionExpression="pk = :pk AND begins_with(sk, :review)", ConsistentRead=True, Select="COUNT",
        ExpressionAttributeValues={":pk": store.product_key(pid)["pk"], ":review": {"S": "REVIEW"}},
    )["Count"] == 0


@pytest.mark.parametrize("body,field", [
    (_review(0), "body.rating"),
    (_review(6), "body.rating"),
    (_review(4.5), "body.rating"),
    (_review("5"), "body.rating"),
    (_review(True), "body.rating"),
    ({"rating": 5, "body": "no title"}, "body.title"),
    (_review(title="   "), "body.title"),
    (_review(title="x" * 121), "body.title"),
    (_review(body="x" * 5001), "body.body"),
    (_review(stars=5), "body.stars"),
])
def test_invalid_reviews_are_400_with_field_details(customer, customer_id, new_product, bought, body, field):
    pid = new_product()["product_id"]
    bought.add((customer_id, pid))
    response = customer.post(_reviews_url(pid), json=body)
    assert response.status_code == 400, response.text
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]], response.json()


def test_30_concurrent_reviews_keep_the_rating_exact_and_list_newest_first(local_stack, shoppers, anonymous, new_product, bought):
    # GIVEN 30 buyers of one product
    product = new_product()
    pid = product["product_id"]
    bought.update((user_id, pid) for user_id, _ in shoppers)
    ratings = {user_id: index % 5 + 1 for index, (user_id, _) in enumerate(shoppers)}
    # WHEN they all review it at once over HTTP
    with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
        responses = list(pool.map(lambda s: s[1].post(_reviews_url(pid), json=_review(ratings[s[0]], title=f"By {s[0]}")), shoppers))
    # THEN every review is stored and the aggregate is exactly their sum and count
    assert [r.status_code for r in responses] == [201] * SHOPPERS, [r.text for r in responses if r.status_code != 201]
    page = anonymous.get(f"/api/v1/products/{pid}").json()["data"]
    total = sum(ratings.values())
    assert page["rating"] == {"average": round(total / SHOPPERS, 2), "count": SHOPPERS}
    assert page["version"] == product["version"] + SHOPPERS
    from functions.catalog import store

    item = store.get_product(pid, consistent=True)
    assert (int(item.rating_sum), int(item.rating_count)) == (total, SHOPPERS)
    # AND the list pages through all of them once, newest first
    seen, cursor = [], None
    while True:
        data = anonymous.get(_reviews_url(pid), params={"limit": 7, **({"cursor": cursor} if cursor else {})}).json()["data"]
        assert len(data["items"]) <= 7
        seen += data["items"]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert len(seen) == SHOPPERS and {r["user_id"]: r["rating"] for r in seen} == ratings
    assert [r["review_id"] for r in seen] == sorted((r["review_id"] for r in seen), reverse=True)
    created = [datetime.fromisoformat(r["created_at"]) for r in seen]
    assert created == sorted(created, reverse=True)
    assert anonymous.get(_reviews_url(pid)).json()["data"]["next_cursor"] is not None  # 20 of 30
    assert len(anonymous.get(_reviews_url(pid), params={"limit": 100}).json()["data"]["items"]) == SHOPPERS


def test_concurrent_duplicate_reviews_store_exactly_one(shoppers, anonymous, new_product, bought):
    pid = new_product()["product_id"]
    user_id, api = shoppers[0]
    bought.add((user_id, pid))
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: api.post(_reviews_url(pid), json=_review(5)).status_code, range(10)))
    assert sorted(statuses) == [201] + [409] * 9
    assert anonymous.get(f"/api/v1/products/{pid}").json()["data"]["rating"] == {"average": 5.0, "count": 1}


def test_bad_list_parameters_are_400(anonymous, new_product):
    pid = new_product()["product_id"]
    assert anonymous.get(_reviews_url(pid)).json()["data"] == {"items": [], "next_cursor": None}
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "!!"}, {"cursor": "eyJzayI6ICJQUk9EVUNUIn0="}):
        response = anonymous.get(_reviews_url(pid), params=params)
        assert response.status_code == 400, (params, response.text)
