"""The API's documentation on the local gateway (not part of the deployed API):

    GET /api/openapi.json   the OpenAPI document (infra/openapi.py), `servers` = this server's URL
    GET /api/docs           Swagger UI on that document ("Authorize" takes an access token)

The document is generated from the handlers on first request (the stack runs the code it
describes, even before docs/openapi.json is regenerated). Swagger UI's files come from the copy
powertools ships (no network needed); without it the page loads them from jsDelivr.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
ASSETS_PREFIX = DOCS_PATH + "/"
ASSETS = {"swagger-ui-bundle.min.js": "application/javascript", "swagger-ui.min.css": "text/css"}
CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
CDN_FILES = {"swagger-ui-bundle.min.js": f"{CDN}/swagger-ui-bundle.js", "swagger-ui.min.css": f"{CDN}/swagger-ui.css"}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Shop API (local)</title>
  <link rel="stylesheet" href="{css}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{js}"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{openapi}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      displayRequestDuration: true,
      filter: true
    }});
  </script>
</body>
</html>
"""


def _assets_dir() -> Path | None:
    try:
        from aws_lambda_powertools.event_handler.openapi import swagger_ui
    except ImportError:
        return None
    folder = Path(swagger_ui.__file__).parent
    return folder if all((folder / name).is_file() for name in ASSETS) else None


def docs_routes() -> dict[str, Callable[[Request], Response]]:
    """extra_routes for local/gateway.py LocalApiGateway: the document, the page, its assets."""
    lock = threading.Lock()
    cache: dict[str, Any] = {}
    assets = _assets_dir()

    def document() -> dict[str, Any]:
        with lock:
            if "document" not in cache:
                from infra.openapi import build_document

                cache["document"] = build_document()
            return cache["document"]

    def only_get(request: Request) -> Response | None:
        if request.method in ("GET", "HEAD"):
            return None
        return Response(json.dumps({"message": "Method not allowed"}), status=405, headers={"Allow": "GET, HEAD"},
                        content_type="application/json")

    def openapi(request: Request) -> Response:
        from infra.openapi import render, with_server

        refused = only_get(request)
        if refused:
            return refused
        server = request.host_url.rstrip("/")  # the stack's URL, as the caller reached it
        return Response(render(with_server(document(), server)), content_type="application/json",
                        headers={"Cache-Control": "no-cache"})

    def page(request: Request) -> Response:
        refused = only_get(request)
        if refused:
            return refused
        if assets is not None:
            css, js = (f"{ASSETS_PREFIX}{name}" for name in ("swagger-ui.min.css", "swagger-ui-bundle.min.js"))
        else:
            css, js = CDN_FILES["swagger-ui.min.css"], CDN_FILES["swagger-ui-bundle.min.js"]
        html = PAGE.format(css=css, js=js, openapi=OPENAPI_PATH)
        return Response(html, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    def asset(request: Request) -> Response:
        refused = only_get(request)
        if refused:
            return refused
        name = request.path.removeprefix(ASSETS_PREFIX)
        if not name:  # /api/docs/
            return page(request)
        if assets is None or name not in ASSETS:
            return Response(json.dumps({"message": "Not found"}), status=404, content_type="application/json")
        return Response((assets / name).read_bytes(), content_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})

    return {OPENAPI_PATH: openapi, DOCS_PATH: page, ASSETS_PREFIX: asset}
