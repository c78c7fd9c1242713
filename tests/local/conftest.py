"""Fixtures of the local stack's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def in_process_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in this process (its botocore stubber), patched as the local stack patches it."""
    from moto import mock_aws

    from local.moto_patches import apply_moto_patches

    apply_moto_patches()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield
