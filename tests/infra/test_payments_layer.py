"""The payments-only layer (infra/layer.py PaymentsLayer): stripe, built without Docker.

The bundling function is called directly (a cold pip cache makes the first run download wheels,
hence `slow`); the construct is synthesized in a bare stack, not wired into the app here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra import lock
from infra.layer import PaymentsLayer, bundle_layer, bundle_payments_layer, distributions, layer_digest

PAYMENTS_REQUIREMENTS = lock.PAYMENTS.requirements

pytestmark = pytest.mark.slow

MAX_PAYMENTS_LAYER_BYTES = 25 * 1024 * 1024
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil"}


def _tree_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file() and not path.is_symlink())


@pytest.fixture(scope="module")
def payments_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle_payments_layer(tmp_path_factory.mktemp("payments-layer"))


def test_the_payments_layer_has_stripe_at_the_pinned_version(payments_asset: Path) -> None:
    # GIVEN the bundled payments layer asset
    site_packages = payments_asset / "python"

    # WHEN its top-level entries are listed
    entries = {path.name for path in site_packages.iterdir()}

    # THEN stripe is there, at the version requirements-payments.txt pins, as a package
    pinned = re.search(r"^stripe==(\S+)", PAYMENTS_REQUIREMENTS.read_text(), re.MULTILINE).group(1)
    assert "stripe" in entries and (site_packages / "stripe" / "__init__.pyc").is_file()
    assert f"stripe-{pinned}.dist-info" in entries
    # AND not shared/ (that is the shared layer's); Python 3.12 bytecode in place of the sources
    assert "shared" not in entries
    assert (site_packages / "stripe" / "__init__.pyc").is_file() and not (site_packages / "stripe" / "__init__.py").exists()


def test_the_payments_layer_has_nothing_the_runtime_or_the_shared_layer_already_provides(
    payments_asset: Path, tmp_path: Path
) -> None:
    # GIVEN the payments layer and the shared layer's installed requirements
    site_packages = payments_asset / "python"
    entries = {path.name for path in site_packages.iterdir()}
    shared = distributions(bundle_layer(lock.SHARED, tmp_path) / "python")

    # THEN no boto3/botocore & co (the Lambda runtime has them)
    assert not entries & RUNTIME_PROVIDED
    assert not [name for name in entries if name.startswith(("boto3-", "botocore-", "urllib3-"))]
    # AND no distribution the shared layer already ships (requests, typing_extensions...): two copies in
    # /opt/python would overwrite each other's files
    assert set(distributions(site_packages)) == {"stripe"}, sorted(distributions(site_packages))
    assert {"requests", "typing-extensions"} <= set(shared)
    assert not entries & {"requests", "certifi", "idna", "charset_normalizer", "typing_extensions.py", "bin"}


def test_the_payments_layer_is_under_25_mb_unzipped(payments_asset: Path) -> None:
    # WHEN its files are added up
    size = _tree_size(payments_asset)

    # THEN it stays well under Lambda's limits (and out of the shared layer's 40 MB budget)
    assert 0 < size < MAX_PAYMENTS_LAYER_BYTES, f"payments layer is {size / 1e6:.1f} MB unzipped"


def test_the_payments_layer_construct_is_an_arm64_python312_layer_with_its_own_asset_hash(tmp_path: Path) -> None:
    # GIVEN a bare stack with the PaymentsLayer construct
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "PaymentsLayerOnly")
    construct = PaymentsLayer(stack, "Payments")

    # WHEN it is synthesized (bundling locally: no Docker)
    template = Template.from_stack(stack)

    # THEN it is one layer for Python 3.12 on arm64, exposed as `.layer`
    layers = template.find_resources("AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    (logical_id, layer), = layers.items()
    assert stack.resolve(construct.layer.layer_version_arn) == {"Ref": logical_id}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # AND its asset is staged with stripe in it, under a hash of its own (CDK re-hashes our custom
    # hash into the S3 key), which is not the shared layer's
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    staged = Path(app.synth().directory) / f"asset.{asset_hash}" / "python"
    assert (staged / "stripe").is_dir()
    assert layer_digest(lock.PAYMENTS) != layer_digest(lock.SHARED)
