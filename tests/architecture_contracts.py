"""import-linter contract types of our own (.importlinter): the faces of the services.

A service (`functions/<service>/`) is reached from outside only through its face: `api` for code,
`service` for the topology (infra/topology.py). Its other modules are private to it. Tests and the
local/bench/load/ops tooling may look inside (they test and run the internals); product code may
not. Only a service's `service` module may import `infra` (the topology types): code that ships to
Lambda never does (infra/ is not in the function bundle).
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _import_lines(graph: grimp.ImportGraph, importer: str, imported: str) -> list[int]:
    return [detail["line_number"] for detail in graph.get_import_details(importer=importer, imported=imported)]


def _render(illegal: list[tuple[str, str, list[int]]]) -> None:
    for importer, imported, lines in illegal:
        output.print_error(f"- {importer} -> {imported} (l.{', '.join(map(str, lines))})", bold=False)
        output.new_line()


def _service_of(module: str, container: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == container and len(parts) > 1 else None


class FacesContract(Contract):
    """Modules outside a service import only its face modules.

    Options: container (the package holding the services), faces (module names inside a service
    that others may import), tooling (root packages allowed to import anything)."""

    type_name = "faces"

    container = fields.StringField()
    faces = fields.ListField(subfield=fields.StringField())
    tooling = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        container, faces = str(self.container), set(self.faces)  # type: ignore[arg-type]
        tooling = set(self.tooling or [])  # type: ignore[arg-type]
        illegal = []
        for importer in sorted(graph.modules):
            if importer.split(".")[0] in tooling:
                continue
            importer_service = _service_of(importer, container)
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                service = _service_of(imported, container)
                if service is None or service == importer_service or imported == service:
                    continue
                inside = imported[len(service) + 1:].split(".")[0]
                if inside not in faces:
                    illegal.append((importer, imported, _import_lines(graph, importer, imported)))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal}, warnings=[])

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check.metadata["illegal"])
        output.print_error(f"Reach another service through its {' or '.join(self.faces)} module.", bold=False)  # type: ignore[arg-type]


class OnlyTopologyImportsContract(Contract):
    """Only the modules named `module` inside each service of `container` may import `forbidden`."""

    type_name = "only_topology_imports"

    container = fields.StringField()
    module = fields.StringField()
    forbidden = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        container, allowed, forbidden = str(self.container), str(self.module), str(self.forbidden)
        illegal = []
        for importer in sorted(graph.find_descendants(container) | {container}):
            service = _service_of(importer, container)
            if service is not None and importer == f"{service}.{allowed}":
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if imported == forbidden or imported.startswith(forbidden + "."):
                    illegal.append((importer, imported, _import_lines(graph, importer, imported)))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal}, warnings=[])

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check.metadata["illegal"])
