"""Hash-pinned lock files of the layers' full dependency sets: `python -m infra.lock` writes them.

Each layer's top-level requirements (requirements*.txt) are resolved by pip for the Lambda runtime
(CPython 3.12 on manylinux2014_aarch64) and for this machine's architecture (the import test and
the cold-start bench run the same lock natively), and every wheel's sha256 is recorded. A layer
stacked on another (tokens, payments: on top of shared) is resolved with the base layer's pins as
constraints and lists only what it adds. infra/layer.py installs from these files with
`--require-hashes --no-deps`, so a build never resolves anew and never takes an unpinned wheel.

No pip-tools: pip's own `--dry-run --report` resolves for a foreign platform, which pip-compile
cannot do.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"  # functions run on Graviton (arm64)
HOST_PLATFORM = f"manylinux2014_{platform.machine()}"
PLATFORMS = (LAMBDA_PLATFORM, "manylinux2014_x86_64")  # Lambda, and the machines that test and bench

# Resolved (pip needs them to be consistent) but never shipped.
# Already in the Lambda Python runtime: shipping them again only slows cold starts.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})
# Pulled in by opensearch-py 3.x for its gRPC transport, which opensearchpy never imports: ~21 MB.
NEVER_IMPORTED = frozenset({"grpcio", "protobuf", "opensearch-protobufs"})


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str  # normalized
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", every platform's wheel

    @property
    def shipped(self) -> bool:
        return self.name not in RUNTIME_PROVIDED | NEVER_IMPORTED


@dataclass(frozen=True)
class LayerLock:
    name: str
    requirements: Path
    lock: Path
    on_top_of: LayerLock | None = None

    def requirements_digest(self) -> str:
        return hashlib.sha256(self.requirements.read_bytes()).hexdigest()

    def pins(self) -> dict[str, Pin]:
        """The lock file's pins, by normalized name."""
        return parse_lock(self.lock.read_text())

    def all_pins(self) -> dict[str, Pin]:
        """This layer's pins and those of the layers under it."""
        return {**(self.on_top_of.all_pins() if self.on_top_of else {}), **self.pins()}


SHARED = LayerLock("shared", ROOT / "requirements.txt", ROOT / "requirements-layer.lock")
TOKENS = LayerLock("tokens", ROOT / "requirements-tokens.txt", ROOT / "requirements-tokens.lock", on_top_of=SHARED)
PAYMENTS = LayerLock("payments", ROOT / "requirements-payments.txt", ROOT / "requirements-payments.lock", on_top_of=SHARED)
LOCKS = (SHARED, TOKENS, PAYMENTS)

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\?\s*--hash=\S+)+)", re.MULTILINE)


def parse_lock(text: str) -> dict[str, Pin]:
    pins = {}
    for match in _ENTRY.finditer(text):
        hashes = tuple(re.findall(r"--hash=(\S+)", match.group(3)))
        pins[normalize(match.group(1))] = Pin(normalize(match.group(1)), match.group(2), hashes)
    return pins


def _resolve(requirements: Path, platform_tag: str, constraints: dict[str, Pin]) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256:hex) of what pip would install for platform_tag."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
            "--ignore-installed", "--report", f"{scratch}/report.json", "--target", f"{scratch}/target",
            "--platform", platform_tag, "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--only-binary=:all:", "--requirement", str(requirements),
        ]  # fmt: skip
        if constraints:
            Path(scratch, "constraints.txt").write_text("".join(f"{p.name}=={p.version}\n" for p in constraints.values()))
            command += ["--constraint", f"{scratch}/constraints.txt"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"resolving {requirements.name} for {platform_tag} failed:\n{result.stderr}")
        report = json.loads(Path(scratch, "report.json").read_text())
    resolved = {}
    for item in report["install"]:
        sha256 = item["download_info"]["archive_info"]["hashes"]["sha256"]
        resolved[normalize(item["metadata"]["name"])] = (item["metadata"]["version"], f"sha256:{sha256}")
    return resolved


def resolve(layer: LayerLock) -> dict[str, Pin]:
    """The layer's pins for every platform in PLATFORMS (the same versions, or an error)."""
    base = layer.on_top_of.all_pins() if layer.on_top_of else {}
    versions: dict[str, str] = {}
    hashes: dict[str, set[str]] = {}
    for platform_tag in PLATFORMS:
        for name, (version, digest) in _resolve(layer.requirements, platform_tag, base).items():
            if versions.setdefault(name, version) != version:
                raise RuntimeError(f"{name} resolves to {versions[name]} and {version} on different platforms")
            hashes.setdefault(name, set()).add(digest)
    return {
        name: Pin(name, versions[name], tuple(sorted(hashes[name])))
        for name in sorted(versions)
        if name not in base  # the base layer ships it, at this very version (the constraint)
    }


def render(layer: LayerLock, pins: dict[str, Pin]) -> str:
    lines = [
        f"# {layer.lock.name}: the {layer.name} layer's full dependency set, hash-pinned. Do not edit:",
        f"# `python -m infra.lock` writes it from {layer.requirements.name} (sha256={layer.requirements_digest()}),",
        f"# resolved for CPython {PYTHON_VERSION} on {', '.join(PLATFORMS)}.",
    ]
    if layer.on_top_of:
        lines.append(f"# Stacked on the {layer.on_top_of.name} layer: what {layer.on_top_of.lock.name} pins is left out.")
    for pin in pins.values():
        if not pin.shipped:
            why = "the Lambda runtime provides it" if pin.name in RUNTIME_PROVIDED else "never imported"
            lines.append(f"# resolved, not shipped ({why}):")
        lines.append(f"{pin.name}=={pin.version} \\")
        lines += [f"    --hash={digest} \\" for digest in pin.hashes[:-1]] + [f"    --hash={pin.hashes[-1]}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    for layer in LOCKS:  # in order: a stacked layer reads its base's fresh lock
        layer.lock.write_text(render(layer, resolve(layer)))
        print(f"wrote {layer.lock.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
