"""Fixtures every test can use. Service-level fixtures live beside their tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def moto_server():
    """One moto server (patched, 127.0.0.1) for the whole test session; the SDK points at it."""
    from local.moto_server import start_moto_server

    server = start_moto_server()
    yield server
    server.stop()
