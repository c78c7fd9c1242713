"""CORS over HTTP: preflights answered by the gateway from the template, headers on every answer.

The dev stage (the local stack's) allows one origin, http://localhost:5173 (infra/config.py).
"""

from __future__ import annotations

ALLOWED = "http://localhost:5173"
DISALLOWED = "https://evil.example"


def _preflight(anonymous, path: str, origin: str, method: str = "POST"):
    headers = {"Origin": origin, "Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    return anonymous.request("OPTIONS", path, headers=headers)


def test_a_preflight_from_an_allowed_origin_gets_the_cors_headers(anonymous):
    # WHEN a browser at the storefront's origin asks whether it may POST to /products
    response = _preflight(anonymous, "/api/v1/products", ALLOWED)
    # THEN the gateway answers it (no handler runs) with the resource's methods and our headers
    assert response.status_code == 204, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) == {"GET", "POST", "OPTIONS"}
    allowed_headers = {h.lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-cart-token"} <= allowed_headers
    assert int(response.headers["Access-Control-Max-Age"]) > 0 and response.headers["Vary"] == "Origin"
    # AND a resource with a path parameter has its own methods
    item = _preflight(anonymous, "/api/v1/products/prd_01JC0000000000000000000000", ALLOWED, "PUT")
    assert item.status_code == 204
    assert set(item.headers["Access-Control-Allow-Methods"].split(",")) == {"GET", "PUT", "DELETE", "OPTIONS"}


def test_a_preflight_from_another_origin_gets_no_allow_origin(anonymous):
    response = _preflight(anonymous, "/api/v1/products", DISALLOWED)
    # THEN the browser is not told it may: no Access-Control-Allow-Origin at all
    assert "Access-Control-Allow-Origin" not in response.headers
    # AND an origin that only looks like the allowed one is not it (compared as text, not a regex)
    assert "Access-Control-Allow-Origin" not in _preflight(anonymous, "/api/v1/products", "http://localhostX5173").headers


def test_answers_carry_allow_origin_for_the_allowed_origin_only(anonymous, customer):
    # WHEN the storefront reads categories, sends a bad body, and a guest adds to a cart
    ok = anonymous.get("/api/v1/categories", headers={"Origin": ALLOWED})
    bad = customer.post("/api/v1/cart/items", json={"quantity": "many"}, headers={"Origin": ALLOWED})
    other = anonymous.get("/api/v1/categories", headers={"Origin": DISALLOWED})
    # THEN the handler's answers, success and error, carry the origin and what a page may read
    for response in (ok, bad):
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED, response.headers
        assert "X-Cart-Token" in response.headers["Access-Control-Expose-Headers"].split(",")
        assert response.headers["Vary"] == "Origin"
    assert bad.status_code == 400
    # AND another origin's do not
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert other.headers["Vary"] == "Origin"


def test_the_gateways_own_errors_carry_the_allowed_origin(anonymous):
    # WHEN the authorizer refuses a call without a token, and a path does not exist
    unauthorized = anonymous.post("/api/v1/categories", json={"name": "x"}, headers={"Origin": ALLOWED})
    unknown = anonymous.get("/api/v1/nowhere", headers={"Origin": ALLOWED})
    # THEN the page can read those answers too (the stage's one origin, as a static header)
    assert unauthorized.status_code == 401 and unknown.status_code == 404
    for response in (unauthorized, unknown):
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
