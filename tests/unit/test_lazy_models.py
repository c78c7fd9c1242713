"""Importing a handler does not import pynamodb's models nor botocore's client: every store uses
the low-level connection, built on first use (shared/tables.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

HANDLERS = ["functions.catalog.handlers.list_categories", "functions.catalog.handlers.update_product", "functions.catalog.handlers.list_products",
            "functions.catalog.handlers.create_category", "functions.cart.handlers.add_item", "functions.reviews.handlers.create_review",
            "functions.identity.handlers.login", "functions.identity.handlers.get_me", "functions.identity.handlers.update_me",
            "functions.notifications.consumers.send_notifications"]  # fmt: skip


@pytest.mark.parametrize("handler", HANDLERS)
def test_importing_a_handler_leaves_the_pynamodb_models_unimported(handler):
    # GIVEN a fresh interpreter WHEN it imports the handler module
    code = f"import sys, {handler}; print('pynamodb.models' in sys.modules, 'botocore.client' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
                            env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    # THEN neither the models nor botocore's client machinery were loaded
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def _background_handlers() -> list[str]:
    """Every function that validates no request body: stream consumers, scheduled jobs, the
    notification sender and the saga's steps (infra/handlers.py)."""
    from infra.handlers import deployed_handlers

    return sorted({handler.rsplit(".", 1)[0] for handler, kind in deployed_handlers() if kind != "route"})


def test_no_background_function_imports_pydantic():
    """ADR 0043: no pydantic where nothing is validated (~60 ms of cold start). A service's api
    module is imported by callers that validate nothing (catalog.api's SkuId is loaded on first
    use for that reason)."""
    modules = _background_handlers()
    assert len(modules) >= 10
    code = ("import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
            "    assert 'pydantic' not in sys.modules, name\n")
    for module in modules:  # one fresh interpreter per module: each pays its own imports
        result = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2], env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, f"{module} imports pydantic:\n{result.stderr[-400:]}"
