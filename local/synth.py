"""Synthesize the real CDK app for the local stack (the same code path as `cdk synth`).

Synthesizing takes 10-60 s on 2 cores, and every local stack (`make run`, the test session, the
load smoke test, subprocess stacks) needs the same template. So the template is cached in
`.build/synth-cache/`, keyed by a hash of everything that can change it: the app's source
(app.py, infra/, functions/, shared/), cdk.json and cdk.context.json, the requirements, the
installed aws-cdk-lib version, the stage, bundling, and the CDK environment variables. Any change
to those is a new key, so a stale template is never served. LOCAL_SYNTH_CACHE=0 turns it off.

The template is the parent stack's with every nested stack (one per service, and monitoring)
merged in (local/flatten.py, ADR 0038): the local stack deploys them all as one. The cache holds
the flattened template.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".build" / "synth-cache"
SOURCE_DIRS = ("infra", "functions", "shared")
SOURCE_FILES = ("app.py", "cdk.json", "cdk.context.json", "requirements.txt", "requirements-payments.txt", "package.json",
                "docs/openapi.json", "local/flatten.py", "local/synth.py")
ENVIRONMENT = ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "CDK_CONTEXT_JSON")


def synth_inputs_hash(stage: str, bundle: bool) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(json.dumps({"stage": stage, "bundle": bundle, "aws-cdk-lib": version("aws-cdk-lib"),
                              "env": {name: os.environ.get(name) for name in ENVIRONMENT}}, sort_keys=True).encode())
    paths = [ROOT / name for name in SOURCE_FILES]
    for directory in SOURCE_DIRS:
        paths.extend(p for p in (ROOT / directory).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(paths):
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def synth_backend_template(stage: str = "dev", bundle: bool = False) -> dict[str, Any]:
    """The stack's CloudFormation template. Without `bundle`, asset bundling is skipped (the
    local stack runs the source tree; the layer is only needed for a real deployment)."""
    use_cache = os.environ.get("LOCAL_SYNTH_CACHE", "1") != "0"
    if not use_cache:
        return _synth(stage, bundle)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One synth at a time per stage (pytest-xdist workers, a test's subprocess stack): the others
    # wait for it and read its template instead of synthesizing the same thing at once.
    with open(CACHE_DIR / f"{stage}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _cached_or_synth(stage, bundle)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cached_or_synth(stage: str, bundle: bool) -> dict[str, Any]:
    cached = CACHE_DIR / f"{stage}-{synth_inputs_hash(stage, bundle)}.json"
    if cached.is_file():
        try:
            return json.loads(cached.read_text())
        except ValueError:  # a torn file: synthesize again
            pass
    template = _synth(stage, bundle)
    for old in CACHE_DIR.glob(f"{stage}-*.json"):  # one template per stage is enough
        old.unlink(missing_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(template))
    partial.replace(cached)  # atomic: a concurrent reader sees all of it or nothing
    return template


def _synth(stage: str, bundle: bool) -> dict[str, Any]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from app import build_app
    from local.flatten import flatten_assembly

    context = None if bundle else {"aws:cdk:bundling-stacks": []}
    outdir = tempfile.mkdtemp(prefix="shop-synth-")
    app, stack = build_app(stage=stage, outdir=outdir, context=context)
    assembly = app.synth()
    return flatten_assembly(assembly.directory, stack.template_file)
