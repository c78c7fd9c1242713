"""Every handler has a sample event in events/, and answers it with the contract's envelope."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from infra.topology import all_routes

ROOT = Path(__file__).resolve().parents[2]


def _event_path(handler: str) -> Path:
    _, service, module, _ = handler.split(".")
    return ROOT / "events" / service / f"{module}.json"


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.handler)
def test_handler_has_a_sample_event_that_matches_its_route(route):
    event = json.loads(_event_path(route.handler).read_text())
    assert (event["httpMethod"], event["resource"]) == (route.method, route.path)


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.handler)
def test_handler_answers_its_sample_event_with_the_envelope(local_stack, route):
    # GIVEN the sample event (a unique name so creates never collide)
    event = json.loads(_event_path(route.handler).read_text())
    if event.get("body"):
        body = json.loads(event["body"])
        body["name"] = f"{body.get('name', 'x')} {id(event)}"
        event["body"] = json.dumps(body)
    function = next(r.function_name for r in local_stack.gateway.routes if r.key == f"{route.method} {route.path}")
    # WHEN the handler runs in-process, as Lambda would run it
    result = local_stack.runtime.invoke(function, copy.deepcopy(event))
    # THEN it answers a 2xx in the success envelope, echoing the request id
    assert 200 <= result["statusCode"] < 300, result
    body = json.loads(result["body"])
    assert body["status"] == "success"
    assert body["meta"]["request_id"] == event["requestContext"]["requestId"]


def test_an_exception_in_a_handler_is_a_500_envelope_not_a_crash(local_stack, monkeypatch):
    # GIVEN the data layer fails unexpectedly
    from functions.catalog import list_categories

    def boom():
        raise RuntimeError("table unreachable")

    monkeypatch.setattr(list_categories, "category_tree", boom)
    event = json.loads(_event_path("functions.catalog.list_categories.handler").read_text())
    # WHEN the handler runs
    from local.lambda_runtime import LambdaContext

    result = list_categories.handler(event, LambdaContext("CatalogListCategories", 512, 10, "req-1"))
    # THEN the client gets a 500 with a stable code and no internals
    body = json.loads(result["body"])
    assert result["statusCode"] == 500
    assert body["error"]["code"] == "INTERNAL_ERROR" and "unreachable" not in result["body"]
