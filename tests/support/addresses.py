"""HTTP sessions that connect from a chosen loopback address (any 127/8 address is loopback on
Linux), so a test is a distinct client to the local gateway, as API Gateway's sourceIp sees it."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_address: str) -> None:
        self.source_address = source_address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source_address: str) -> requests.Session:
    """A session whose connections come from `source_address`."""
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source_address))
    return session
