"""Every DynamoDB transaction goes through shared/transactions.py (ADR 0041): no other module of
the deployed code (functions/, shared/, ops/) calls transact_write_items / transact_get_items,
uses pynamodb's TransactWrite / TransactGet, or reads a cancellation's reasons itself
(CancellationReasons, pynamodb's TransactWriteError). They ask shared.transactions instead:
write / read, on_condition_failed, cancellation_reasons, is_busy."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("functions", "shared", "ops")
EXECUTOR = Path("shared/transactions.py")
CALLS = {"transact_write_items", "transact_get_items"}
PYNAMODB_NAMES = {"TransactWrite", "TransactGet", "TransactWriteError", "TransactGetError"}
REASONS = "CancellationReasons"


def violations(source: str) -> list[str]:
    """What in `source` sends or reads a transaction without the executor (line: what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in CALLS | PYNAMODB_NAMES:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in PYNAMODB_NAMES:
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.Constant) and node.value == REASONS:  # a key of the error response
            found.append(f"{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None and (
                node.module.startswith("pynamodb.transactions")
                or any(alias.name in PYNAMODB_NAMES | CALLS for alias in node.names)):
            found.append(f"{node.lineno}: from {node.module} import {', '.join(alias.name for alias in node.names)}")
        elif isinstance(node, ast.Import) and any(alias.name.startswith("pynamodb.transactions") for alias in node.names):
            found.append(f"{node.lineno}: import pynamodb.transactions")
    return found


def test_only_the_executor_sends_transactions_or_reads_their_reasons() -> None:
    offenders = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == EXECUTOR:
                continue
            found = violations(path.read_text())
            if found:
                offenders[str(relative)] = found
    assert offenders == {}, f"use shared.transactions (ADR 0041): {offenders}"


def test_the_check_sees_each_way_around_the_executor() -> None:
    # the executor itself is what the check looks for
    assert len(violations((ROOT / EXECUTOR).read_text())) >= 3
    for source in (
        "connection().client.transact_write_items(TransactItems=items)",
        "client.transact_get_items(TransactItems=gets)",
        "codes = exc.response.get('CancellationReasons', [])",
        "from pynamodb.transactions import TransactWrite",
        "import pynamodb.transactions",
        "from pynamodb.exceptions import TransactWriteError",
        "with TransactWrite(connection=c) as t: pass",
    ):
        assert violations(source), source
    for source in ("transactions.write(items)", "transactions.cancellation_reasons(exc)", '"a docstring on CancellationReasons"'):
        assert not violations(source), source
