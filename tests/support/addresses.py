"""HTTP clients that connect from a chosen loopback address (Linux answers on all of 127.0.0.0/8),
so a test can play a client at its own address: the local gateway, like API Gateway and WAF,
sees the connection's peer address, not anything the client writes in a header."""

from __future__ import annotations

import random
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_address: str) -> None:
        self.source_address = source_address
        super().__init__(pool_maxsize=64)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_address, 0)
        super().init_poolmanager(*args, **kwargs)


def fresh_loopback_address() -> str:
    """A loopback address no earlier test used (per-address counters start empty)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def session_from(source_address: str, token: str | None = None) -> requests.Session:
    """A session whose connections come from `source_address`."""
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source_address))
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session
