"""Lambda layers bundled without Docker: the shared layer and the payments-only layer.

CDK's local bundling runs pip with the Lambda platform's wheel tags; the packages the Lambda
Python runtime already has (boto3, botocore and their dependencies) are removed, because every
megabyte in a layer is cold-start time (docs/decisions/0004-packaging.md).

- `SharedLayer`: `shared/` + requirements.txt, on every function (40 MB budget, tests/infra).
- `PaymentsLayer`: requirements-payments.txt (the `stripe` package, 16.5 MB: too big for the shared
  budget), for the payment functions only, ON TOP OF the shared layer. Whatever the shared layer
  already ships (requests, certifi, idna, typing_extensions...) is pinned to the shared layer's
  version while resolving and then left out, so the two layers never hold two versions of one
  package in /opt/python (a later layer would overwrite some of the earlier one's files).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
PAYMENTS_REQUIREMENTS = ROOT / "requirements-payments.txt"
SHARED = ROOT / "shared"
CACHE = ROOT / ".build" / "layer-cache"

PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"  # functions run on Graviton (arm64)

# Already in the Lambda Python runtime: shipping them again only slows cold starts.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Pulled in by opensearch-py 3.x for its gRPC transport, which opensearchpy never imports: ~21 MB.
NEVER_IMPORTED = ("grpc", "grpcio", "google", "protobuf", "opensearch_protobufs")


@dataclass(frozen=True)
class _Requirements:
    """One layer's pip install: what to install, and which layer (if any) it is stacked on."""

    name: str
    file: Path
    on_top_of: _Requirements | None = None

    def cache_dir(self) -> Path:
        if self.on_top_of is None and self.name == "shared":  # the shared layer's historical key
            key = hashlib.sha256(self.file.read_bytes() + PLATFORM.encode()).hexdigest()[:16]
            return CACHE / key
        digest = hashlib.sha256(f"{self.name}\0{PYTHON_VERSION}/{PLATFORM}\0".encode())
        digest.update(self.file.read_bytes())
        if self.on_top_of is not None:  # what is left out depends on the base layer's requirements
            digest.update(b"\0" + self.on_top_of.file.read_bytes())
        return CACHE / f"{self.name}-{digest.hexdigest()[:16]}"


SHARED_REQUIREMENTS = _Requirements("shared", REQUIREMENTS)
PAYMENTS = _Requirements("payments", PAYMENTS_REQUIREMENTS, on_top_of=SHARED_REQUIREMENTS)


def _digest() -> str:
    """The shared layer's asset hash: requirements.txt, the platform and shared/*.py."""
    digest = hashlib.sha256()
    digest.update(f"{PYTHON_VERSION}/{PLATFORM}".encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in sorted(SHARED.rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _payments_digest() -> str:
    """The payments layer's asset hash: its requirements (and the shared layer's, which decide what
    is left out) and the platform."""
    digest = hashlib.sha256()
    digest.update(f"payments\0{PYTHON_VERSION}/{PLATFORM}\0".encode())
    digest.update(PAYMENTS_REQUIREMENTS.read_bytes())
    digest.update(b"\0" + REQUIREMENTS.read_bytes())
    return digest.hexdigest()


def _distributions(site_packages: Path) -> dict[str, tuple[str, Path]]:
    """Normalized distribution name -> (version, its .dist-info directory)."""
    found = {}
    for dist_info in site_packages.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        found[re.sub(r"[-_.]+", "-", name).lower()] = (version, dist_info)
    return found


def _remove_distribution(site_packages: Path, dist_info: Path) -> None:
    """Every file pip recorded for the distribution, then the directories left empty."""
    record = dist_info / "RECORD"
    parents = set()
    for line in record.read_text().splitlines() if record.exists() else []:
        relative = line.split(",", 1)[0]
        if relative.startswith("../"):  # console scripts: `pip --target` puts ../../bin/* in <target>/bin
            relative = "bin/" + relative.rpartition("/bin/")[2] if "/bin/" in relative else ""
        path = (site_packages / relative).resolve()
        if not relative or not path.is_relative_to(site_packages.resolve()):
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()
        parents.update(parent for parent in path.parents if parent.is_relative_to(site_packages.resolve()))
    shutil.rmtree(dist_info, ignore_errors=True)
    for directory in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if directory != site_packages.resolve() and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _install_requirements(requirements: _Requirements = SHARED_REQUIREMENTS) -> Path:
    """pip install for the Lambda platform once per requirements version, then reuse.

    Built in a private directory and renamed into place, so concurrent builds (pytest-xdist
    workers) never see or delete each other's half-built tree."""
    target = requirements.cache_dir()
    if (target / ".complete").exists():
        return target
    base = _install_requirements(requirements.on_top_of) if requirements.on_top_of else None
    CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=CACHE))
    building.chmod(0o755)  # mkdtemp's 0700 would be copied into the layer's python/ directory
    try:
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--requirement", str(requirements.file), "--target", str(building),
            "--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--only-binary=:all:", "--no-compile",
        ]  # fmt: skip
        if base is not None:  # resolve shared dependencies to exactly the base layer's versions
            constraints = building.with_name(building.name + ".constraints.txt")
            constraints.write_text("".join(f"{name}=={version}\n" for name, (version, _) in sorted(_distributions(base).items())))
            command += ["--constraint", str(constraints)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"building the {requirements.name} layer failed:\n{result.stdout}\n{result.stderr}")
        for name in RUNTIME_PROVIDED + NEVER_IMPORTED:
            for path in building.glob(f"{name}*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        if base is not None:  # the base layer already ships these, in the same versions
            in_base = _distributions(base)
            for name, (_, dist_info) in _distributions(building).items():
                if name in in_base:
                    _remove_distribution(building, dist_info)
        for path in building.rglob("__pycache__"):
            shutil.rmtree(path, ignore_errors=True)
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
        building.with_name(building.name + ".constraints.txt").unlink(missing_ok=True)
    return target


@jsii.implements(ILocalBundling)
class _PipLayerBundling:
    def __init__(self, requirements: _Requirements = SHARED_REQUIREMENTS, *, with_shared: bool = True) -> None:
        self.requirements = requirements
        self.with_shared = with_shared

    def try_bundle(self, output_dir: str, *, image=None, **_options) -> bool:  # noqa: ANN001
        site_packages = Path(output_dir) / "python"
        shutil.copytree(_install_requirements(self.requirements), site_packages, ignore=shutil.ignore_patterns(".complete"))
        if self.with_shared:
            shutil.copytree(SHARED, site_packages / "shared", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return True


def bundle_payments_layer(output_dir: str | Path) -> Path:
    """What PaymentsLayer's asset holds, built into output_dir (tests call this directly)."""
    _PipLayerBundling(PAYMENTS, with_shared=False).try_bundle(str(output_dir))
    return Path(output_dir)


def _bundled_code(source: Path, asset_hash: str, bundling: _PipLayerBundling) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source),
        asset_hash=asset_hash,
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, so no Docker is needed.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=bundling,
        ),
    )


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        code = _bundled_code(SHARED, _digest(), _PipLayerBundling())
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="shared/ and its dependencies (boto3/botocore come from the runtime)",
        )


class PaymentsLayer(Construct):
    """requirements-payments.txt (stripe) for the payment functions; attach it AFTER the shared
    layer, whose packages (requests...) it relies on and leaves out."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # The source directory is a placeholder: local bundling reads requirements-payments.txt.
        code = _bundled_code(Path(__file__).resolve().parent, _payments_digest(), _PipLayerBundling(PAYMENTS, with_shared=False))
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="stripe for the payment functions, on top of the shared layer",
        )
