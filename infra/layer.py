"""Lambda layers bundled without Docker, from hash-pinned lock files, with Python 3.12 bytecode.

Each layer is `pip install --require-hashes --no-deps --only-binary=:all:` of its lock file
(infra/lock.py writes them) for the Lambda platform, then compiled for the runtime's Python
(infra/bundling.py): a layer without bytecode is compiled on every cold start. What the Lambda
runtime already has (boto3, botocore...) is resolved but not installed (docs/decisions/0028).

- `SharedLayer`: `shared/` + requirements-layer.lock, on every function (18 MB budget, tests/infra).
- `TokensLayer`: requirements-tokens.lock (PyJWT + cryptography, ~15 MB) for the functions that
  verify sign-in tokens themselves (the Auth.OPTIONAL cart routes), ON TOP OF the shared layer.
- `PaymentsLayer`: requirements-payments.lock (stripe, 16.5 MB) for the payment functions, when
  the stage's provider is stripe, ON TOP OF the shared layer.
A stacked layer's lock leaves out what the shared layer pins, so two layers never hold two
versions of one package in /opt/python (a later layer would overwrite some of the earlier one's files).

`bundle_layer(..., platform_tag=HOST_PLATFORM)` builds the same lock for this machine: the import
test and the cold-start bench run the layers natively.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import lock
from infra.bundling import BYTECODE_RECIPE, PYTHON_VERSION, RUNTIME, compile_bytecode, copy_sources
from infra.lock import HOST_PLATFORM, LAMBDA_PLATFORM, LayerLock

ROOT = Path(__file__).resolve().parents[1]
SHARED_SOURCES = ROOT / "shared"
CACHE = ROOT / ".build" / "layer-cache"
LAYER_PATH = "/opt/python"  # where Lambda extracts a layer's python/ directory
# Files of shipped packages that nothing can reach: the Swagger UI's assets (1.7 MB) are served
# only by a resolver with enable_swagger(), which no handler calls.
UNREACHABLE_FILES = ("aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.*",)

__all__ = ["HOST_PLATFORM", "LAMBDA_PLATFORM", "PaymentsLayer", "SharedLayer", "TokensLayer", "bundle_layer"]


def _sources(layer: LayerLock) -> list[Path]:
    """Our own code in the layer: shared/ is in the shared layer."""
    return sorted(SHARED_SOURCES.rglob("*.py")) if layer is lock.SHARED else []


def layer_digest(layer: LayerLock, platform_tag: str = LAMBDA_PLATFORM) -> str:
    """What the layer's content depends on: its lock, the platform, the bytecode recipe, our sources."""
    digest = hashlib.sha256(f"{layer.name}\0{PYTHON_VERSION}/{platform_tag}\0{BYTECODE_RECIPE}\0".encode())
    digest.update(layer.lock.read_bytes())
    for path in _sources(layer):
        digest.update(b"\0" + str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def distributions(site_packages: Path) -> dict[str, str]:
    """Normalized distribution name -> version, of what is installed in site_packages."""
    found = {}
    for dist_info in site_packages.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        found[lock.normalize(name)] = version
    return found


def _install_locked(layer: LayerLock, platform_tag: str) -> Path:
    """pip install of the layer's shipped pins for platform_tag, compiled, once per lock version.

    Built in a private directory and renamed into place, so concurrent builds (pytest-xdist
    workers) never see or delete each other's half-built tree."""
    packages_digest = hashlib.sha256(f"{PYTHON_VERSION}/{platform_tag}\0{BYTECODE_RECIPE}\0".encode() + layer.lock.read_bytes())
    target = CACHE / f"{layer.name}-{platform_tag.rsplit('_', 1)[-1]}-{packages_digest.hexdigest()[:16]}"
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=CACHE))
    building.chmod(0o755)  # mkdtemp's 0700 would be copied into the layer's python/ directory
    shipped = building.with_name(building.name + ".lock")
    try:
        pins = [pin for pin in layer.pins().values() if pin.shipped]
        shipped.write_text("".join(f"{pin.name}=={pin.version} " + " ".join(f"--hash={h}" for h in pin.hashes) + "\n" for pin in pins))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--require-hashes", "--no-deps", "--requirement", str(shipped), "--target", str(building),
            "--platform", platform_tag, "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--only-binary=:all:", "--no-compile",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"building the {layer.name} layer from {layer.lock.name} failed:\n{result.stdout}\n{result.stderr}")
        installed = distributions(building)
        if installed != {pin.name: pin.version for pin in pins}:  # --no-deps: exactly the lock, nothing else
            raise RuntimeError(f"the {layer.name} layer installed {installed}, its lock says {pins}")
        shutil.rmtree(building / "bin", ignore_errors=True)  # console scripts: nothing runs them on Lambda
        for path in building.rglob("__pycache__"):
            shutil.rmtree(path, ignore_errors=True)
        for pattern in UNREACHABLE_FILES:
            for path in building.glob(pattern):
                path.unlink()
        compile_bytecode(building, sourceless=True, installed_at=LAYER_PATH)
        (building / ".complete").touch()
        if not (target / ".complete").exists():  # else another process finished first: use theirs
            shutil.rmtree(target, ignore_errors=True)  # only ever an incomplete leftover (builds are private)
            try:
                os.rename(building, target)
            except OSError:  # another process renamed its build in meanwhile
                if not (target / ".complete").exists():
                    raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
        shipped.unlink(missing_ok=True)
    return target


def bundle_layer(layer: LayerLock, output_dir: str | Path, platform_tag: str = LAMBDA_PLATFORM) -> Path:
    """The layer's asset (python/...) built into output_dir; returns output_dir."""
    site_packages = Path(output_dir) / "python"
    shutil.copytree(_install_locked(layer, platform_tag), site_packages, ignore=shutil.ignore_patterns(".complete"), dirs_exist_ok=True)
    if _sources(layer):
        copy_sources(SHARED_SOURCES, site_packages / "shared")
        compile_bytecode(site_packages / "shared")
    return Path(output_dir)


def bundle_payments_layer(output_dir: str | Path) -> Path:
    """What PaymentsLayer's asset holds, built into output_dir (tests call this directly)."""
    return bundle_layer(lock.PAYMENTS, output_dir)


@jsii.implements(ILocalBundling)
class _LockedLayerBundling:
    def __init__(self, layer: LayerLock) -> None:
        self.layer = layer

    def try_bundle(self, output_dir: str, *, image=None, **_options) -> bool:  # noqa: ANN001
        bundle_layer(self.layer, output_dir)
        return True


def _layer_version(scope: Construct, layer: LayerLock, description: str) -> lambda_.LayerVersion:
    # The source directory is a placeholder: local bundling reads the lock file (and shared/).
    source = SHARED_SOURCES if layer is lock.SHARED else Path(__file__).resolve().parent
    code = lambda_.Code.from_asset(
        str(source),
        asset_hash=layer_digest(layer),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, so no Docker is needed.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=_LockedLayerBundling(layer),
        ),
    )
    return lambda_.LayerVersion(
        scope,
        "Layer",
        code=code,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description=description,
    )


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = _layer_version(self, lock.SHARED, "shared/ and its dependencies (boto3/botocore come from the runtime)")


class TokensLayer(Construct):
    """PyJWT + cryptography for the functions that verify sign-in tokens themselves; attach it
    AFTER the shared layer."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = _layer_version(self, lock.TOKENS, "PyJWT and cryptography, for the functions that verify tokens")


class PaymentsLayer(Construct):
    """stripe for the payment functions; attach it AFTER the shared layer, whose packages
    (requests...) it relies on and leaves out."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = _layer_version(self, lock.PAYMENTS, "stripe for the payment functions, on top of the shared layer")


def pinned_version(requirements: Path, name: str) -> str:
    """The `name==version` pin of a requirements file (tests compare it with the built layer)."""
    match = re.search(rf"^{re.escape(name)}(?:\[[^\]]*\])?==(\S+)", requirements.read_text(), re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise LookupError(f"{name} is not pinned in {requirements.name}")
    return match.group(1)
