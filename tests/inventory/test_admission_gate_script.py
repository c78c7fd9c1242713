"""The admission gate's one Lua call against a real cache server: it says "shed" only for a SKU
whose versioned value says sold out behind a fresh watermark, and lets one probe per window
through (functions/inventory/gate.py). The HTTP behaviour is in tests/faults/test_admission_gate.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from functions.inventory import gate
from functions.inventory.availability import WATERMARK_KEY, sku_key
from local.moto_server import free_port

SKU = "sku_01JCGATE000000000000000000TEST"


@pytest.fixture
def cache(cache_server: Any, monkeypatch) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(cache_server.url, decode_responses=True)
    client.flushdb()
    monkeypatch.setattr(gate.cache, "client", lambda: client)  # only the gate's view of the cache
    monkeypatch.setenv("GATE_PROBE_SECONDS", "30")
    yield client
    client.close()


def _fresh(cache: redis.Redis, age_seconds: float = 0.0) -> None:
    cache.set(WATERMARK_KEY, int((time.time() - age_seconds) * 1000))


def test_a_sold_out_sku_behind_a_fresh_watermark_is_shed_after_one_probe(cache):
    # GIVEN the projector says version 7, available 0, and it is current
    _fresh(cache)
    cache.set(sku_key(SKU), "7|0")
    # WHEN the gate is asked three times
    # THEN the first is the window's probe (to DynamoDB), the others are shed
    assert [gate.verdict(SKU) for _ in range(3)] == [gate.PROBE, gate.SHED, gate.SHED]


@pytest.mark.parametrize(
    ("value", "age_seconds", "expected"),
    [
        ("7|3", 0.0, gate.PASS),  # in stock: DynamoDB decides
        ("7|0", 31.0, gate.PASS),  # sold out, but the watermark is older than 30 s: not trusted
        ("7|-|123", 0.0, gate.PASS),  # a tombstone: the table says what a SKU without stock is
        ("garbage", 0.0, gate.REBUILD),  # unreadable = missing: pass, and rebuild from the table
        (None, 0.0, gate.REBUILD),  # missing (the cache restarted): pass, and rebuild
    ],
)
def test_anything_but_a_trusted_sold_out_passes(cache, value, age_seconds, expected):
    _fresh(cache, age_seconds)
    if value is not None:
        cache.set(sku_key(SKU), value)
    assert gate.verdict(SKU) == expected


def test_no_watermark_passes_and_a_missing_key_is_rebuilt_once_per_window(cache):
    # GIVEN no watermark at all: nothing is trusted
    cache.set(sku_key(SKU), "7|0")
    assert gate.verdict(SKU) == gate.PASS
    # GIVEN a fresh watermark and no key: one request per window rebuilds, the others just pass
    _fresh(cache)
    cache.delete(sku_key(SKU))
    assert [gate.verdict(SKU) for _ in range(3)] == [gate.REBUILD, gate.MISSING, gate.MISSING]


def test_the_kill_switch_and_a_broken_cache_mean_no_gate(cache, monkeypatch):
    _fresh(cache)
    cache.set(sku_key(SKU), "7|0")
    monkeypatch.setenv("ADMISSION_GATE", "off")
    assert gate.verdict(SKU) == gate.OFF
    monkeypatch.delenv("ADMISSION_GATE")
    broken = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    tripped: list[Exception] = []
    monkeypatch.setattr(gate.cache, "client", lambda: broken)
    monkeypatch.setattr(gate.cache, "trip", tripped.append)
    assert gate.verdict(SKU) == gate.OFF and len(tripped) == 1
