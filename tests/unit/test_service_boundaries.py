"""Inventory, catalog, cart and search reach other services only through their `api` modules, and
only the services their service.py `calls` (deferred imports inside functions count too); the
inventory calls nobody (docs/decisions/0040)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("inventory", "catalog", "cart", "search")


def _imports(service: str) -> dict[str, list[str]]:
    """module path -> every functions.* module it imports (top level or inside a function)."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "functions" / service).rglob("*.py")):
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
        found[str(path.relative_to(ROOT))] = [name for name in names if name.startswith("functions.")]
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_other_services_only_through_their_api_and_only_those_it_calls(service):
    calls = set(importlib.import_module(f"functions.{service}.service").SERVICE.calls)
    problems = []
    for path, names in _imports(service).items():
        for name in names:
            parts = name.split(".")
            other = parts[1] if len(parts) > 1 else ""
            if other in ("", service):
                continue
            if other not in calls:
                problems.append(f"{path}: {name} (calls {sorted(calls)})")
            elif len(parts) > 2 and parts[2] != "api":
                problems.append(f"{path}: {name} is not {other}'s api")
    assert problems == []


def test_the_inventory_calls_no_other_service():
    from functions.inventory.service import SERVICE

    assert SERVICE.calls == ()
