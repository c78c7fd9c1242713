"""Bytecode for the Lambda runtime's Python, and the functions' code asset that carries it.

Lambda's filesystem is read-only, so a package shipped without `__pycache__` is compiled from source
on every cold start (and the result thrown away): import CPU about doubles. Bytecode is only valid
for the interpreter version that wrote it (the magic number, and the `cpython-312` cache tag that
Python looks for), so it is compiled with a Python 3.12 interpreter, whatever Python runs the synth.

The .pyc files use the UNCHECKED_HASH invalidation mode: CDK zips assets with a fixed timestamp
(for reproducible hashes), so timestamp-validated .pyc would never match their source on Lambda,
and CHECKED_HASH would hash every source file on every import. Unchecked is safe here because a
bundle's bytecode and sources are always produced together and never edited in place
(docs/decisions/0028-cold-start-packaging.md).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"

PYTHON_VERSION = "3.12"  # the functions' runtime, lambda_.Runtime.PYTHON_3_12
RUNTIME = lambda_.Runtime.PYTHON_3_12
CACHE_TAG = "cpython-" + PYTHON_VERSION.replace(".", "")
# Part of every asset hash: a change of how bytecode is made must change the assets.
BYTECODE_RECIPE = f"{CACHE_TAG}/unchecked-hash/v3"

_CANDIDATES = (
    f"python{PYTHON_VERSION}",
    f"/root/.pyenv/versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}",
    f"~/.pyenv/versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}",
    f"/usr/local/bin/python{PYTHON_VERSION}",
)


class NoLambdaPython(RuntimeError):
    pass


@lru_cache(maxsize=1)
def lambda_python() -> str:
    """A Python interpreter of the Lambda runtime's version: $LAMBDA_PYTHON, else python3.12 on
    PATH or in pyenv. Raises NoLambdaPython (saying how to get one) when there is none."""
    candidates = [os.environ["LAMBDA_PYTHON"]] if os.environ.get("LAMBDA_PYTHON") else []
    for pattern in _CANDIDATES:
        if "/" not in pattern:
            found = shutil.which(pattern)
            candidates += [found] if found else []
        else:
            candidates += sorted(glob.glob(os.path.expanduser(pattern)), reverse=True)
    for candidate in candidates:
        try:
            version = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30,
            ).stdout.strip()
        except OSError:
            continue
        if version == PYTHON_VERSION:
            return candidate
    raise NoLambdaPython(
        f"no Python {PYTHON_VERSION} interpreter found (tried {candidates or list(_CANDIDATES)}): the Lambda "
        f"bundles need one to compile their bytecode. Install it (pyenv install {PYTHON_VERSION}, or your "
        f"OS's python{PYTHON_VERSION} package) or point LAMBDA_PYTHON at one."
    )


def compile_bytecode(directory: Path, *, sourceless: bool = False, installed_at: str | None = None) -> None:
    """Compile every .py under directory for the Lambda runtime's Python, unchecked-hash .pyc.

    sourceless: the .pyc replaces its .py (legacy layout, module.pyc beside where module.py was),
    for third-party packages: half the size of shipping both, and the exact sources are the
    lock's pinned wheels. Our own code keeps its sources (tracebacks show its lines).
    installed_at: where directory's files are on Lambda (/opt/python), the path recorded in the
    bytecode: a traceback through a sourceless module shows that, not this machine's build dir.
    Files that do not compile on 3.12 (a package's Python 2 leftovers, templates named .py) are
    left as sources, compiled on import as before: compileall reports them, we do not fail on them."""
    command = [lambda_python(), "-m", "compileall", "-q", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    if sourceless:
        command.append("-b")
    if installed_at:
        command += ["-s", str(directory), "-p", installed_at]
    subprocess.run([*command, str(directory)], capture_output=True, text=True)
    if sourceless:
        for source in directory.rglob("*.py"):
            if source.with_suffix(".pyc").is_file():
                source.unlink()
    if not any(directory.rglob("*.pyc")):
        raise RuntimeError(f"compiling {directory} for Python {PYTHON_VERSION} produced no bytecode")


def copy_sources(source: Path, destination: Path) -> None:
    """source's tree without any bytecode of the machine that ran the tests."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def functions_digest() -> str:
    digest = hashlib.sha256(BYTECODE_RECIPE.encode())
    for path in sorted(FUNCTIONS.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(b"\0" + str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def bundle_functions(output_dir: str | Path) -> Path:
    """The functions' code asset: functions/ (shared/ comes from the layer), with 3.12 bytecode."""
    output = Path(output_dir)
    copy_sources(FUNCTIONS, output / "functions")
    compile_bytecode(output)
    return output


@jsii.implements(ILocalBundling)
class _FunctionsBundling:
    def try_bundle(self, output_dir: str, *, image=None, **_options) -> bool:  # noqa: ANN001
        bundle_functions(output_dir)
        return True


def functions_code() -> lambda_.Code:
    """One asset for every function (built once per synth, uploaded once)."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS),
        asset_hash=functions_digest(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, so no Docker is needed.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=_FunctionsBundling(),
        ),
    )
