"""The layers' lock files (infra/lock.py) cover what requirements*.txt ask for, with hashes.

Fast: reads files only. The layer build installs from these locks with --require-hashes, so a
requirement the lock does not cover fails the build; these tests say which one, and why.
"""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement

from infra import lock

LAYERS = pytest.mark.parametrize("layer", lock.LOCKS, ids=[layer.name for layer in lock.LOCKS])


def _requirements(layer: lock.LayerLock) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in layer.requirements.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


@LAYERS
def test_the_lock_was_made_from_the_current_requirements_file(layer: lock.LayerLock) -> None:
    # GIVEN a layer's requirements file and its lock
    # WHEN the lock's header is read
    recorded = re.search(r"sha256=([0-9a-f]{64})", layer.lock.read_text())

    # THEN it names the very requirements file it was resolved from (else: `make lock`)
    assert recorded is not None, f"{layer.lock.name} has no header"
    assert recorded.group(1) == layer.requirements_digest(), (
        f"{layer.requirements.name} changed since {layer.lock.name} was written: run `make lock`"
    )


@LAYERS
def test_every_requirement_is_pinned_in_the_lock_at_a_version_it_allows(layer: lock.LayerLock) -> None:
    # GIVEN the layer's requirements and what its lock (and the locks under it) pin
    pins = layer.all_pins()
    requirements = _requirements(layer)
    assert requirements

    for requirement in requirements:
        # WHEN a requirement is looked up in the lock
        pin = pins.get(lock.normalize(requirement.name))

        # THEN the lock pins it, at a version the requirement allows, and it is shipped
        assert pin is not None, f"{requirement} is not in {layer.lock.name}"
        assert requirement.specifier.contains(pin.version, prereleases=True), (requirement, pin.version)
        assert pin.shipped, f"{requirement} is resolved but left out of the layer"


@LAYERS
def test_every_pin_has_a_sha256_per_wheel_and_a_stacked_lock_repeats_nothing(layer: lock.LayerLock) -> None:
    # GIVEN the lock's pins
    pins = layer.pins()
    assert pins

    # THEN each has at least one sha256 (one per platform's wheel where the wheels differ)
    for pin in pins.values():
        assert pin.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in pin.hashes), pin
        assert len(pin.hashes) <= len(lock.PLATFORMS), pin
    # AND a layer stacked on another pins nothing the base pins (one version per package in /opt/python)
    if layer.on_top_of is not None:
        assert not set(pins) & set(layer.on_top_of.all_pins()), sorted(set(pins) & set(layer.on_top_of.all_pins()))


def test_the_extras_dependencies_are_locked_too() -> None:
    # GIVEN PyJWT[crypto] in the tokens layer's requirements
    pins = lock.TOKENS.all_pins()

    # THEN the extra's packages (cryptography and its cffi) are pinned, not only PyJWT
    assert {"pyjwt", "cryptography", "cffi"} <= set(pins)
    # AND what the Lambda runtime provides is resolved for consistency but never shipped
    shared = lock.SHARED.pins()
    assert not shared["botocore"].shipped and not shared["urllib3"].shipped
    assert all(pin.shipped for name, pin in shared.items() if name in {"pydantic", "pynamodb", "aws-lambda-powertools"})
