"""The shared Lambda layer (`shared/` + requirements.txt), bundled without Docker.

CDK's local bundling runs pip with the Lambda platform's wheel tags; the packages the Lambda
Python runtime already has (boto3, botocore and their dependencies) are removed, because every
megabyte in the layer is cold-start time (docs/decisions/0004-packaging.md).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
SHARED = ROOT / "shared"
CACHE = ROOT / ".build" / "layer-cache"

PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"  # functions run on Graviton (arm64)

# Already in the Lambda Python runtime: shipping them again only slows cold starts.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Pulled in by opensearch-py 3.x for its gRPC transport, which opensearchpy never imports: ~21 MB.
NEVER_IMPORTED = ("grpc", "grpcio", "google", "protobuf", "opensearch_protobufs")


def _digest() -> str:
    digest = hashlib.sha256()
    digest.update(f"{PYTHON_VERSION}/{PLATFORM}".encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in sorted(SHARED.rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _install_requirements() -> Path:
    """pip install for the Lambda platform once per requirements.txt version, then reuse."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + PLATFORM.encode()).hexdigest()[:16]
    target = CACHE / key
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--requirement", str(REQUIREMENTS), "--target", str(target),
         "--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
         "--only-binary=:all:", "--no-compile"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the layer failed:\n{result.stdout}\n{result.stderr}")
    for name in RUNTIME_PROVIDED + NEVER_IMPORTED:
        for path in target.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in target.rglob("__pycache__"):
        shutil.rmtree(path, ignore_errors=True)
    (target / ".complete").touch()
    return target


@jsii.implements(ILocalBundling)
class _PipLayerBundling:
    def try_bundle(self, output_dir: str, *, image=None, **_options) -> bool:  # noqa: ANN001
        site_packages = Path(output_dir) / "python"
        shutil.copytree(_install_requirements(), site_packages, ignore=shutil.ignore_patterns(".complete"))
        shutil.copytree(SHARED, site_packages / "shared", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return True


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(
            str(SHARED),
            asset_hash=_digest(),
            asset_hash_type=AssetHashType.CUSTOM,
            bundling=BundlingOptions(
                # Never pulled: local bundling always succeeds, so no Docker is needed.
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
                local=_PipLayerBundling(),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="shared/ and its dependencies (boto3/botocore come from the runtime)",
        )
