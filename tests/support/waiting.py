"""Waiting for the local stack's asynchronous parts (streams, queues, the saga) to catch up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(read: Callable[[], T], done: Callable[[T], Any], timeout: float = 20, interval: float = 0.1) -> T:
    """The first value of `read()` that `done` accepts, or its last value once `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_until(condition: Callable[[], Any], timeout: float = 20, interval: float = 0.1) -> Any:
    """The first truthy value of `condition()`, or its last value once `timeout` seconds passed."""
    return eventually(condition, bool, timeout, interval)
