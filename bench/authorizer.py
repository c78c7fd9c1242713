"""What the Cognito authorizer costs: over HTTP on one local stack, alone, and to import.

(a) HTTP: requests that differ in one step each, interleaved round-robin on one running stack, so
    the difference between two rows is the cost of that step:
      - POST /api/v1/categories, no Authorization      -> 401 at the gateway: HTTP + routing (floor)
      - same, valid signature but no scope              -> 401 after the *whole* verification
        (JWKS lookup, RS256 check, issuer/expiry/client), still no Lambda: minus the floor = authorizer
      - same, customer access token                     -> 403 from the handler's role check, before
        the body is parsed: minus the row above = invoking the handler and its fast reject
      - same, admin access token, existing name         -> 409 after body parsing and a conditional
        write: the full private path (no data growth, so every round does the same work)
      - GET /api/v1/categories, no token                -> the public route doing its real work
    A public route and a private route run different handlers, so comparing them directly says
    nothing about the authorizer; the no-scope row isolates it without any handler.
(b) `CognitoAuthorizer.claims_for` alone: one authorizer with its JWKS cache warm vs a new
    authorizer per call (so every call fetches the JWKS from moto over HTTP), interleaved.
(c) `import shared.auth` (what handlers load to read the claims) vs `import json`, fresh interpreters.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HTTP_ROUNDS = 200
HTTP_WARMUP = 10
WARM_CALLS_PER_ROUND = 5
AUTHORIZER_ROUNDS = 100
IMPORT_RUNS = 7
PRIVATE = "/api/v1/categories"
SCOPE = "aws.cognito.signin.user.admin"

_TIMER = "import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"


def _ms(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in ms of samples in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _scopeless_token(access_token: str) -> str:
    """The real token's claims without `scope`, signed with moto's Cognito key: passes every check but the last."""
    import jwt
    from moto.utilities.utils import load_resource

    claims = jwt.decode(access_token, options={"verify_signature": False})
    claims.pop("scope")
    key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


# -- (a) over HTTP -----------------------------------------------------------------------------------
def _http_cases(stack: Any, tokens: dict[str, dict[str, str]]) -> dict[str, tuple[int, Callable[[Any], Any]]]:
    url = stack.url + PRIVATE
    body = {"name": "Electronics"}  # seeded root: the admin's create is a 409 every time
    admin, customer = tokens["admin"]["AccessToken"], tokens["customer"]["AccessToken"]
    scopeless = _scopeless_token(admin)
    return {
        "POST, no token -> 401 (gateway floor)": (401, lambda s: s.post(url, json=body)),
        "POST, verified token without scope -> 401": (
            401, lambda s: s.post(url, json=body, headers={"Authorization": f"Bearer {scopeless}"})),
        "POST, customer token -> 403 from handler": (
            403, lambda s: s.post(url, json=body, headers={"Authorization": f"Bearer {customer}"})),
        "POST, admin token -> 409 (full private path)": (
            409, lambda s: s.post(url, json=body, headers={"Authorization": f"Bearer {admin}"})),
        "GET, public route -> 200": (200, lambda s: s.get(url)),
    }


def measure_http(stack: Any, tokens: dict[str, dict[str, str]]) -> dict[str, list[float]]:
    import requests

    cases = _http_cases(stack, tokens)
    sessions = {name: requests.Session() for name in cases}  # one keep-alive connection per case
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_number in range(HTTP_WARMUP + HTTP_ROUNDS):
        for name, (expected, send) in cases.items():
            started = time.perf_counter()
            response = send(sessions[name])
            elapsed = time.perf_counter() - started
            if response.status_code != expected:
                raise RuntimeError(f"{name}: expected {expected}, got {response.status_code} {response.text[:200]}")
            if round_number >= HTTP_WARMUP:
                samples[name].append(elapsed)
    for session in sessions.values():
        session.close()
    return samples


# -- (b) the authorizer alone ------------------------------------------------------------------------
def measure_authorizer(stack: Any, token: str) -> dict[str, list[float]]:
    from local.authorizer import CognitoAuthorizer

    deployment = stack.deployment
    pools = [deployment.physical_id(p) for p in deployment.resources_of_type("AWS::Cognito::UserPool")]
    clients = [deployment.physical_id(c) for c in deployment.resources_of_type("AWS::Cognito::UserPoolClient")]
    header = f"Bearer {token}"
    warm = CognitoAuthorizer(stack.moto.endpoint, pools, clients)
    warm.claims_for(header, [SCOPE])  # fills its JWKS cache
    samples: dict[str, list[float]] = {"warm": [], "cold": []}
    for _ in range(AUTHORIZER_ROUNDS):
        started = time.perf_counter()
        CognitoAuthorizer(stack.moto.endpoint, pools, clients).claims_for(header, [SCOPE])
        samples["cold"].append(time.perf_counter() - started)
        for _ in range(WARM_CALLS_PER_ROUND):
            started = time.perf_counter()
            warm.claims_for(header, [SCOPE])
            samples["warm"].append(time.perf_counter() - started)
    return samples


# -- (c) import cost ---------------------------------------------------------------------------------
def _import_ms(statement: str) -> float:
    code = _TIMER.format(statement=statement)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def measure_imports() -> dict[str, list[float]]:
    targets = ("import json", "import shared.auth")
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(IMPORT_RUNS):  # interleaved
        for name in targets:
            samples[name].append(_import_ms(name))
    return samples


# -- the section -------------------------------------------------------------------------------------
def report() -> str:
    from bench.stack import shared_stack
    from local.seed import DEMO_USERS, sign_in

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()
    tokens = {role: sign_in(stack, email, stack.demo_password) for email, role in DEMO_USERS}
    http = measure_http(stack, tokens)
    alone = measure_authorizer(stack, tokens["admin"]["AccessToken"])
    imports = measure_imports()

    lines = [
        "## Cognito authorizer cost",
        "",
        f"### Over HTTP (one local stack, {HTTP_ROUNDS} requests each after {HTTP_WARMUP} warm-up, interleaved)",
        "",
        "Each POST row adds one step to the row above it, so differences isolate that step; the no-scope",
        "token (real claims minus `scope`, signed with moto's key) passes the whole verification and is",
        "refused at the last check, so it costs the authorizer's full work and no Lambda.",
        "",
        "| request | median ms | p95 ms | median vs floor |",
        "|---|---:|---:|---:|",
    ]
    floor_name = next(iter(http))
    floor, _ = _ms(http[floor_name])
    medians = {}
    for name, values in http.items():
        median, p95 = _ms(values)
        medians[name] = median
        lines.append(f"| {name} | {median:.2f} | {p95:.2f} | {median / floor:.2f}x |")
    names = list(http)
    authorizer_ms = medians[names[1]] - medians[names[0]]
    handler_ms = medians[names[2]] - medians[names[1]]
    lines += [
        "",
        f"Authorizer over HTTP (no-scope row minus floor): **{authorizer_ms:.2f} ms** per request; "
        f"invoking the handler up to its 403 (customer row minus no-scope row): {handler_ms:.2f} ms; "
        f"full private path vs public GET: {medians[names[3]] / medians[names[4]]:.2f}x.",
        "",
        f"### `CognitoAuthorizer.claims_for` alone ({AUTHORIZER_ROUNDS} cold, "
        f"{AUTHORIZER_ROUNDS * WARM_CALLS_PER_ROUND} warm, interleaved)",
        "",
        "| JWKS | median ms | p95 ms | vs warm |",
        "|---|---:|---:|---:|",
    ]
    warm_median, warm_p95 = _ms(alone["warm"])
    cold_median, cold_p95 = _ms(alone["cold"])
    lines.append(f"| warm (cached keys, one authorizer) | {warm_median:.3f} | {warm_p95:.3f} | 1.00x |")
    lines.append(f"| cold (new authorizer, JWKS fetched from moto) | {cold_median:.3f} | {cold_p95:.3f} | "
                 f"{cold_median / warm_median:.1f}x |")
    lines += [
        "",
        f"### Import in a fresh interpreter (median of {IMPORT_RUNS}, interleaved)",
        "",
        "| import | ms | vs `import json` |",
        "|---|---:|---:|",
    ]
    baseline = statistics.median(imports["import json"])
    for name, values in imports.items():
        lines.append(f"| `{name}` | {statistics.median(values):.1f} | {statistics.median(values) / baseline:.2f}x |")
    return "\n".join(lines)
