"""Every deployed handler imports with only its built layers and code asset on sys.path.

The Lambda twin (infra/lambda_twin.py): the functions asset and the layers built from the same
lock files as the deployed ones (for this machine's architecture), the runtime's boto3 & co, a
Python 3.12 interpreter run with -I -S (no venv, no site-packages). A package the layer lacks, a
handler that imports something only the dev venv has, or a layer given to the wrong functions
fails here instead of on the first cold start in AWS. `slow`: the first run builds the layers.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from infra import lock
from infra.handlers import deployed_handlers
from infra.lambda_twin import LambdaTwin, build_twin, layers_for

pytestmark = pytest.mark.slow

# What a handler module reads at import time, as in every deployed function's environment.
ENVIRONMENT = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "shop",
               "CATALOG_TABLE_NAME": "catalog", "STAGE": "dev"}  # fmt: skip

_IMPORT_ALL = """
import importlib, json, sys, traceback
failures = {}
for module in MODULES:
    try:
        importlib.import_module(module)
    except BaseException:
        failures[module] = traceback.format_exc(limit=-3)
# Where every loaded module came from: only the twin's directories and the standard library.
origins = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps({"failures": failures, "origins": origins}))
"""


@pytest.fixture(scope="module")
def twin() -> LambdaTwin:
    return build_twin()


def _import_in_twin(twin: LambdaTwin, modules: list[str], layers: tuple[lock.LayerLock, ...]) -> dict:
    result = twin.run(f"MODULES = {modules!r}\n{_IMPORT_ALL}", layers, env=ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _modules_by_layers() -> dict[tuple[lock.LayerLock, ...], list[str]]:
    """Handler modules grouped by the layers their functions get (one interpreter per group)."""
    groups: dict[tuple[lock.LayerLock, ...], list[str]] = defaultdict(list)
    for handler, _ in deployed_handlers():
        module = handler.rsplit(".", 1)[0]
        for layers in {layers_for(handler), layers_for(handler, stripe=True)}:
            if module not in groups[layers]:
                groups[layers].append(module)
    return groups


def test_every_handler_imports_from_its_layers_and_asset_alone(twin: LambdaTwin) -> None:
    # GIVEN every deployed handler module, grouped by the layers its function gets
    groups = _modules_by_layers()
    assert sum(len(modules) for modules in groups.values()) >= len({h.rsplit(".", 1)[0] for h, _ in deployed_handlers()})
    allowed = [str(twin.task), *map(str, twin.layers.values()), str(twin.runtime), "/lib/python3.12/"]

    for layers, modules in groups.items():
        # WHEN each is imported in a fresh 3.12 interpreter that sees only those directories
        outcome = _import_in_twin(twin, modules, layers)

        # THEN every one imports
        names = [layer.name for layer in layers]
        assert not outcome["failures"], f"with layers {names}:\n" + "\n".join(
            f"{module}:\n{error}" for module, error in outcome["failures"].items()
        )
        # AND nothing came from anywhere else (the venv, the user's site-packages)
        strays = [origin for origin in outcome["origins"] if not any(part in origin for part in allowed)]
        assert not strays, strays


def test_the_cart_can_verify_rs256_tokens_with_the_tokens_layer(twin: LambdaTwin) -> None:
    # GIVEN a cart route's layers (shared + tokens)
    layers = layers_for("functions.cart.handlers.add_item.handler")
    assert lock.TOKENS in layers

    # WHEN shared/tokens.py's verifier and PyJWT's RSA algorithm are loaded there
    result = twin.run(
        "import jwt.algorithms, shared.tokens\n"
        "verifier = shared.tokens.TokenVerifier({'https://issuer': 'http://127.0.0.1:9/jwks.json'}, {'client'})\n"
        "print(jwt.algorithms.has_crypto, 'RS256' in jwt.algorithms.get_default_algorithms())",
        layers, env=ENVIRONMENT,
    )  # fmt: skip

    # THEN RS256 is available (cryptography is in the layer, built for this Python)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_function_without_the_tokens_layer_cannot_import_jwt(twin: LambdaTwin) -> None:
    # GIVEN a function that does not verify tokens itself (orders: API Gateway's authorizer does)
    layers = layers_for("functions.orders.handlers.create_order.handler")
    assert layers == (lock.SHARED,)

    # WHEN PyJWT is imported with its layers only
    outcome = _import_in_twin(twin, ["jwt"], layers)

    # THEN it is not there: the twin sees no venv, so a missing package really fails
    assert "ModuleNotFoundError: No module named 'jwt'" in outcome["failures"]["jwt"]


def test_the_payment_functions_import_stripe_from_the_payments_layer(twin: LambdaTwin) -> None:
    # GIVEN a payment function's layers when the stage's provider is stripe
    layers = layers_for("functions.payments.handlers.webhook.handler", stripe=True)
    assert lock.PAYMENTS in layers

    # WHEN the stripe adapter is imported there
    outcome = _import_in_twin(twin, ["stripe", "functions.payments.providers.stripe"], layers)

    # THEN it imports (stripe's dependencies come from the shared layer)
    assert not outcome["failures"], outcome["failures"]
