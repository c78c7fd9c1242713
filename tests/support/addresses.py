"""HTTP clients that connect from a chosen loopback address (Linux answers on all of 127.0.0.0/8),
so a test can play a client at its own address: the local gateway, like API Gateway and WAF,
sees the connection's peer address, not anything the client writes in a header."""

from __future__ import annotations

import random

import requests
from requests.adapters import HTTPAdapter


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_maxsize=64)

    def init_poolmanager(self, *args, **kwargs):  # noqa: ANN002, ANN003 - requests' signature
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def fresh_loopback_address() -> str:
    """A loopback address no earlier test used (per-address counters start empty)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def session_from(address: str, token: str | None = None) -> requests.Session:
    session = requests.Session()
    adapter = _FromAddress(address)
    session.mount("http://", adapter)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session
