"""Waiting for the local stack's asynchronous parts (streams, queues, the saga) to catch up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float = 20, interval: float = 0.1) -> Any:
    """The first truthy value of `condition()`, or its last value once `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
