"""The local stack serves the document and Swagger UI on it (local/docs.py)."""

from __future__ import annotations

import json

from infra.openapi import DOCUMENT_PATH


def test_the_document_is_served_with_the_stacks_url(local_stack, anonymous):
    response = anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    served = response.json()
    assert served["servers"] == [{"url": local_stack.url, "description": "This server."}]
    checked_in = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert {**served, "servers": checked_in["servers"]} == checked_in
    assert served["info"]["title"] == "Shop API"


def test_swagger_ui_points_at_the_document(anonymous):
    page = anonymous.get("/api/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'url: "/api/openapi.json"' in page.text and "SwaggerUIBundle(" in page.text
    # its script and styles load (from the copy powertools ships, or a CDN when it has none)
    for asset in ("swagger-ui-bundle", "swagger-ui.css" if "cdn.jsdelivr" in page.text else "swagger-ui.min.css"):
        assert asset in page.text
    if "cdn.jsdelivr" not in page.text:
        script = anonymous.get("/api/docs/swagger-ui-bundle.min.js")
        assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
        assert "SwaggerUIBundle" in script.text[:5000] or len(script.content) > 100_000
        assert anonymous.get("/api/docs/swagger-ui.min.css").status_code == 200
    assert anonymous.get("/api/docs/").status_code == 200
    assert anonymous.get("/api/docs/nope.js").status_code == 404


def test_only_reads_are_served(anonymous):
    for path in ("/api/openapi.json", "/api/docs"):
        response = anonymous.post(path, json={})
        assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    # the API's own routes are untouched
    assert anonymous.get("/api/v1/categories").json()["status"] == "success"
