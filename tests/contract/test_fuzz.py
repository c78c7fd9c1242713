"""Contract fuzzing: schemathesis drives every operation of docs/openapi.json against the
session's local stack, as real callers (the fuzz users of conftest.py, each operation with the
roles that may call it, one that may not, and nobody), and checks every answer: never a 5xx,
a documented status code and content type, a body and headers that match the document.

    make test  -> 12 examples per operation, derandomized (the same ones every run): ~20 s
    make fuzz  -> FUZZ_EXAMPLES (default there: 200) random examples per operation, plus
                  schemathesis' coverage phase (boundary values, other media types and methods)

Inputs of bugs already reported (test_known_bugs.py) are skipped, see `known_bug`.

Path parameters and body ids are sometimes swapped for the fuzz world's real ones (its product,
SKU, order, payment), so generated requests get past "not found" into the handlers' logic. Who
calls and which ids are swapped follow from the case itself (a seeded choice, not a hypothesis
draw: schemathesis' coverage phase only runs on tests without extra `given` arguments).
"""

from __future__ import annotations

import importlib
import os
import random

import schemathesis
from hypothesis import HealthCheck, Phase, assume, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.topology import Auth, Route, all_routes
from tests.contract.conftest import FUZZ_STATS, load_document

LONG_RUN = bool(os.environ.get("FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 12)
REQUEST_TIMEOUT = 15  # seconds: a hung handler fails the example instead of the suite
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": LONG_RUN},  # boundary values of every parameter: many requests, make fuzz only
            "stateful": {"enabled": False},
        },
        # Auth is ours (real tokens per role), never generated.
        "generation": {"with-security-parameters": False},
    }
)
DOCUMENT = load_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

ROUTES: dict[tuple[str, str], Route] = {(route.method, route.path): route for route in all_routes()}
# Body fields and path parameters the fuzz world has real values for.
REAL_IDS = ("product_id", "sku_id", "order_id", "payment_id", "user_id", "category_id", "parent_id")


def callers(route: Route) -> list[str]:
    """Who calls the operation: those allowed, one signed-in role that is not (403), and nobody
    (the authorizer's 401)."""
    if route.auth is Auth.PUBLIC:
        return ["anonymous"]
    if route.auth is Auth.OPTIONAL:
        return ["customer", "anonymous"]  # a signed-in shopper, or a guest
    roles = importlib.import_module(route.handler.rpartition(".")[0]).app.required_roles or ()
    everyone = ("customer", "seller", "admin")
    allowed = [role for role in everyone if not roles or role in roles]
    refused = [role for role in everyone if role not in allowed][:1]
    return allowed + refused + ["anonymous"]


def known_bug(case) -> bool:
    """Inputs of bugs reported and reproduced by test_known_bugs.py: the fuzzer skips them (so
    it keeps looking for new ones) until the fix lands and that test's strict xfail says so.
    None is open now (the last ones, attribute names "" and lone surrogates in attributes, are
    refused with a 400)."""
    return False


def real_value(name: str, method: str, path: str, world: dict[str, str]) -> str | None:
    if name == "product_id" and method == "DELETE":
        return world["disposable_product_id"]  # the rest of the run still has its product
    if name == "parent_id":
        return world["category_id"]
    return world.get(name)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=LONG_RUN,
)
def test_operation_keeps_its_contract(case, local_stack, fuzz_users, fuzz_world):
    assume(not known_bug(case))
    method = case.method.upper()
    route = ROUTES.get((method, case.path))  # None: a method the path does not have (coverage phase)
    choice = random.Random(repr((method, case.path, case.path_parameters, case.query, case.headers, case.body)))
    role = choice.choice(callers(route)) if route else "anonymous"
    caller = fuzz_users[role]
    for name in list(case.path_parameters or {}):
        value = real_value(name, method, case.path, fuzz_world)
        if value and choice.random() < 0.5:
            case.path_parameters[name] = value
    if isinstance(case.body, dict):
        for name in REAL_IDS:
            value = real_value(name, method, case.path, fuzz_world)
            if name in case.body and value and choice.random() < 0.5:
                case.body[name] = value
    response = case.call(base_url=local_stack.url, session=caller.session, headers=caller.headers, timeout=REQUEST_TIMEOUT)
    FUZZ_STATS[f"{method} {case.path}"][f"{role}:{response.status_code}"] += 1
    case.validate_response(response, checks=CHECKS)
