"""The architecture holds: services are units with one face, calling downward only
(.importlinter, functions/README.md)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from infra.topology import SERVICES, all_routes, all_scheduled_jobs, all_stream_consumers, service_of

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
SERVICE_NAMES = [service.name for service in SERVICES]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph("functions", "shared", "infra", cache_dir=None)


def _cross_service_imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    found = []
    for importer in graph.find_descendants("functions"):
        mine = importer.split(".")[1] if importer.count(".") >= 1 else None
        for imported in graph.find_modules_directly_imported_by(importer):
            parts = imported.split(".")
            if parts[0] == "functions" and len(parts) > 1 and parts[1] != mine:
                found.append((importer, imported))
    return sorted(found)


def test_import_linter_keeps_every_contract_and_ignores_nothing():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    assert not [section for section in config.sections() if config.has_option(section, "ignore_imports")]
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_cross_service_import_targets_an_api_module(graph):
    imports = _cross_service_imports(graph)
    print(f"\ncross-service imports: {len(imports)} (modules: {len({i for i, _ in imports})} importers)")
    for importer, imported in imports:
        print(f"  {importer} -> {imported}")
    assert imports, "the services call each other; an empty list means the graph was not built"
    assert [pair for pair in imports if pair[1].split(".")[-1] != "api"] == []


def test_the_services_form_no_cycle_and_call_only_what_they_declare(graph):
    calls: dict[str, set[str]] = {name: set() for name in SERVICE_NAMES}
    for importer, imported in _cross_service_imports(graph):
        calls[importer.split(".")[1]].add(imported.split(".")[1])
    declared = {service.name: set(service.calls) for service in SERVICES}
    assert calls == declared, "a service's `calls` (functions/<service>/service.py) must name exactly the services it imports"
    # SERVICES is lowest first: every call goes to a service listed earlier, so no cycle can exist.
    rank = {name: index for index, name in enumerate(SERVICE_NAMES)}
    upward = [(caller, callee) for caller, callees in calls.items() for callee in callees if rank[callee] >= rank[caller]]
    assert upward == []


def test_the_importlinter_layers_are_the_topology_order():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = [line.strip() for line in config["importlinter:contract:layers"]["layers"].strip().splitlines()]
    flattened = [name.strip() for layer in reversed(layers) for name in layer.split("|")]
    assert sorted(flattened) == sorted(SERVICE_NAMES)
    position = {name: index for index, layer in enumerate(reversed(layers)) for name in (n.strip() for n in layer.split("|"))}
    assert all(position[a] <= position[b] for a, b in zip(SERVICE_NAMES, SERVICE_NAMES[1:], strict=False))


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_NAMES)
def test_every_service_has_the_shape_of_a_unit(service):
    folder = FUNCTIONS / service.name
    assert (folder / "__init__.py").is_file() and (folder / "api.py").is_file() and (folder / "service.py").is_file()
    if service.tables:
        assert (folder / "store.py").is_file() or (folder / "store" / "__init__.py").is_file(), f"{service.name} owns a table: its store"
    for route in service.routes:
        assert service_of(route.handler) == service.name
        assert route.handler.startswith(f"functions.{service.name}.handlers."), route.handler
    for definition in (*service.stream_consumers, *service.scheduled_jobs):
        assert service_of(definition.handler) == service.name
        assert definition.handler.startswith(f"functions.{service.name}.consumers."), definition.handler
    for folder_name in ("handlers", "consumers"):
        sub = folder / folder_name
        if sub.is_dir():
            assert (sub / "__init__.py").is_file()


def test_no_module_sits_outside_a_service():
    loose = [p.name for p in FUNCTIONS.glob("*.py") if p.name != "__init__.py"]
    services = {p.name for p in FUNCTIONS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert loose == [] and services == set(SERVICE_NAMES)


def test_every_handler_module_of_a_service_is_deployed():
    """A module under handlers/ or consumers/ is a function: the topology names it (or it is the
    saga's steps, or the notification sender, which infra/checkout.py and infra/notifications.py build)."""
    from infra.handlers import deployed_handlers

    deployed = {handler.rsplit(".", 1)[0] for handler, _ in deployed_handlers()}
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for kind in ("handlers", "consumers") for path in FUNCTIONS.glob(f"*/{kind}/*.py") if path.name != "__init__.py"
    }
    assert modules - deployed == set()
    assert {h.handler.rsplit(".", 1)[0] for h in (*all_routes(), *all_stream_consumers(), *all_scheduled_jobs())} <= modules


def test_functions_readme_lists_the_services_in_order_with_their_calls():
    """functions/README.md's table is the topology's: the services lowest first, each with its calls."""
    rows = [line.split("|")[1:-1] for line in (FUNCTIONS / "README.md").read_text().splitlines()
            if line.startswith("| `")]
    assert [row[0].strip().strip("`") for row in rows] == SERVICE_NAMES
    for row, service in zip(rows, SERVICES, strict=True):
        listed = {name.strip() for name in row[2].split(",")} - {"nothing"}
        assert listed == set(service.calls), (service.name, row[2])


TABLE_CALLS = {"get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_get_item", "batch_write_item",
               "transact_write_items", "transact_get_items"}


def _is_store(path: Path) -> bool:
    relative = path.relative_to(FUNCTIONS).parts
    return len(relative) >= 2 and (relative[1] == "store.py" or relative[1] == "store")


def test_only_a_services_store_touches_its_tables():
    """functions/README.md: `store.py` (or `store/`) is the only code that touches a service's
    tables: no other module builds the DynamoDB connection, sends a transaction, calls the
    low-level client or uses a pynamodb model."""
    import ast

    offenders: dict[str, list[str]] = {}
    for path in sorted(FUNCTIONS.rglob("*.py")):
        if _is_store(path):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pynamodb"):
                found.append(f"{node.lineno}: from {node.module} import ...")
            elif isinstance(node, ast.ImportFrom) and node.module == "shared.tables" and \
                    {alias.name for alias in node.names} & {"connection", "table_meta"}:
                found.append(f"{node.lineno}: the DynamoDB connection")  # error_code (any AWS error) is fine
            elif isinstance(node, ast.Import) and any(alias.name.startswith("pynamodb") for alias in node.names):
                found.append(f"{node.lineno}: import pynamodb")
            elif isinstance(node, ast.Attribute) and node.attr in TABLE_CALLS:
                found.append(f"{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "transactions" \
                    and node.attr in {"write", "read"}:
                found.append(f"{node.lineno}: transactions.{node.attr}")
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, "\n".join(f"{k}: {v}" for k, v in offenders.items())
