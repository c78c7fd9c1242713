"""What a deployed function's Python sees, built on this machine: its code asset (/var/task), its
layers (/opt/python) and the runtime's boto3 & co, and nothing else: no venv site-packages.

The layers are built from the same lock files as the deployed ones, for this machine's
architecture (native wheels: pydantic_core, cryptography), and everything is compiled for, and run
by, a Python 3.12 interpreter (infra/bundling.py). The import test and the cold-start bench use it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra import lock
from infra.bundling import BYTECODE_RECIPE, bundle_functions, compile_bytecode, functions_digest, lambda_python
from infra.layer import HOST_PLATFORM, bundle_layer, layer_digest
from infra.topology import all_routes, all_stream_consumers

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".build" / "lambda-twin"
# What the Lambda Python runtime ships besides the standard library (lock.RUNTIME_PROVIDED).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def layers_for(handler: str, *, stripe: bool = False) -> tuple[lock.LayerLock, ...]:
    """The layers the stack attaches to a handler's function (infra/functions.py), in order:
    the tokens layer where the handler verifies tokens, the payments layer where it reads the
    payment secrets and the stage's provider is stripe."""
    from infra.checkout import STEPS

    route = next((route for route in all_routes() if route.handler == handler), None)
    payment_secrets = any(
        definition.payment_secrets
        for definition in [route, *all_stream_consumers()]
        if definition is not None and definition.handler == handler
    ) or any(f"functions.orders.consumers.saga.{step.handler}" == handler and step.payment_secrets for step in STEPS.values())
    layers = [lock.SHARED]
    if route is not None and route.verifies_tokens:
        layers.append(lock.TOKENS)
    if stripe and payment_secrets:
        layers.append(lock.PAYMENTS)
    return tuple(layers)


@dataclass(frozen=True)
class LambdaTwin:
    python: str  # a Python 3.12 interpreter
    task: Path  # the functions asset, as in /var/task
    layers: dict[str, Path]  # layer name -> its python/ directory, as in /opt/python
    runtime: Path  # boto3, botocore... as the runtime has them

    def sys_path(self, layers: tuple[lock.LayerLock, ...]) -> list[str]:
        """Lambda's order: the task, the layers, the runtime's packages."""
        return [str(self.task), *(str(self.layers[layer.name]) for layer in layers), str(self.runtime)]

    def run(self, code: str, layers: tuple[lock.LayerLock, ...], env: dict[str, str] | None = None,
            timeout: float = 120, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:  # fmt: skip
        """code in a fresh interpreter whose sys.path is exactly the function's: -I (no user site,
        no PYTHONPATH), -S (no site-packages), -B (Lambda's filesystem is read-only); flags: more
        interpreter options (-X importtime)."""
        prelude = f"import sys; sys.path[:] = {self.sys_path(layers) + _stdlib_paths(self.python)!r}\n"
        return subprocess.run(
            [self.python, "-I", "-S", "-B", *flags, "-c", prelude + code],
            capture_output=True, text=True, timeout=timeout, cwd=self.task,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **(env or {})},
        )  # fmt: skip


_STDLIB: dict[str, list[str]] = {}


def _stdlib_paths(python: str) -> list[str]:
    """The interpreter's own sys.path under -I -S: the standard library and lib-dynload only."""
    if python not in _STDLIB:
        out = subprocess.run([python, "-I", "-S", "-c", "import sys; print('\\n'.join(sys.path[1:]))"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        _STDLIB[python] = [line for line in out.splitlines() if line and "site-packages" not in line]
    return _STDLIB[python]


def _runtime_packages(destination: Path) -> Path:
    """boto3 & co copied from this venv and compiled for 3.12, as the runtime ships them compiled."""
    sources = []
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed in this environment (requirements-dev.txt has boto3)")
        origin = Path(spec.origin)
        sources.append(origin.parent if origin.name == "__init__.py" else origin)
    digest = hashlib.sha256(BYTECODE_RECIPE.encode())
    for source in sources:
        digest.update(str(source).encode() + b"\0" + str(source.stat().st_mtime_ns).encode())

    def build(target: Path) -> None:
        for source in sources:
            if source.is_dir():
                shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target / source.name)
        compile_bytecode(target)

    return _cached(destination / f"runtime-{digest.hexdigest()[:16]}", build)


def _cached(directory: Path, build) -> Path:  # noqa: ANN001
    """build(a private directory), renamed into place: concurrent builds never see half a tree."""
    if (directory / ".complete").exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        build(building)
        (building / ".complete").touch()
        shutil.rmtree(directory, ignore_errors=True)  # only ever an incomplete leftover
        try:
            os.rename(building, directory)
        except OSError:  # another process finished first
            if not (directory / ".complete").exists():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return directory


def build_twin(layers: tuple[lock.LayerLock, ...] = lock.LOCKS) -> LambdaTwin:
    """Built (or reused) under .build/lambda-twin, keyed by what each part is made from."""
    task = _cached(BUILD / f"task-{functions_digest()[:16]}", bundle_functions)
    built = {}
    for layer in layers:
        directory = _cached(BUILD / f"{layer.name}-{layer_digest(layer, HOST_PLATFORM)[:16]}",
                            lambda out, layer=layer: bundle_layer(layer, out, HOST_PLATFORM))  # fmt: skip
        built[layer.name] = directory / "python"
    return LambdaTwin(lambda_python(), task, built, _runtime_packages(BUILD))
