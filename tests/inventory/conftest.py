"""Inventory fixtures: a real cache server of its own (redis-server, else fakeredis), for the
tests of the Lua scripts that the availability read model and the admission gate run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.moto_server import free_port
from local.services import start_cache


@pytest.fixture(scope="module")
def cache_server() -> Iterator[Any]:
    server = start_cache(free_port())
    yield server
    server.stop()
