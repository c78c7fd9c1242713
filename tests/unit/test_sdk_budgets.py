"""Every AWS SDK client the functions build has a timeout budget (shared/aws.py): botocore's own
defaults (60 s connect, 60 s read) and pynamodb's (15 s / 30 s, 4 attempts) must not be left in."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import functions
from shared import aws
from shared.tables import connection

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "functions").rglob("*.py"), *(ROOT / "shared").rglob("*.py")])


def _client_calls_without_config() -> list[str]:
    """Every boto3.client(...) / boto3.resource(...) / session.client(...) call that passes no `config=`."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("client", "resource")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in ("boto3", "session")
                    and not any(keyword.arg == "config" for keyword in node.keywords)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_boto3_client_of_the_functions_is_built_with_a_budget():
    # GIVEN the functions' and shared code's sources  THEN no SDK client is built without a Config
    assert _client_calls_without_config() == []


def test_every_budget_is_bounded_and_dynamodb_fits_in_a_second(monkeypatch):
    monkeypatch.delenv("SDK_TIMEOUT_SCALE", raising=False)
    for service in aws.BUDGETS:
        config = aws.config(service)
        assert config.connect_timeout <= 1 and config.read_timeout <= 5, service
        assert config.retries == {"total_max_attempts": aws.BUDGETS[service].attempts, "mode": "standard"}, service
        assert 1 <= aws.BUDGETS[service].attempts <= 3, service
    assert aws.DYNAMODB.attempts * aws.DYNAMODB.read_seconds <= 1.0


def test_the_functions_define_no_pynamodb_model_and_the_shared_connection_uses_dynamodb_s_budget(monkeypatch):
    # GIVEN every store of the functions (imported), at the production budget
    monkeypatch.delenv("SDK_TIMEOUT_SCALE", raising=False)
    for module in pkgutil.walk_packages(functions.__path__, "functions."):
        if module.name.endswith(".store") or ".store." in module.name:
            importlib.import_module(module.name)
    from pynamodb.models import Model

    # THEN no pynamodb model is left in them (ADR 0048: one idiom, the low-level client) ...
    models, pending = [], list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        models.append(model)
    assert [model for model in models if model.__module__.startswith("functions.")] == []
    expected = aws.pynamodb_settings()
    assert expected == {"connect_timeout_seconds": 0.5, "read_timeout_seconds": 0.5, "max_retry_attempts": 1}
    # ... and the low-level connection the stores share carries DynamoDB's budget
    connection.cache_clear()
    try:
        shared = connection()
        assert (shared._connect_timeout_seconds, shared._read_timeout_seconds, shared._max_retry_attempts_exception) == tuple(expected.values())
    finally:
        connection.cache_clear()


def test_the_scale_multiplies_timeouts_but_not_attempts(monkeypatch):
    monkeypatch.setenv("SDK_TIMEOUT_SCALE", "4")
    scaled = aws.budget("dynamodb")
    assert (scaled.connect_seconds, scaled.read_seconds, scaled.attempts) == (2.0, 2.0, aws.DYNAMODB.attempts)
