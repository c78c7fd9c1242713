"""boto3 clients of the notification functions: one per execution environment, built on first
use (building one costs ~50 ms of cold start, and only the function that needs it pays)."""

from __future__ import annotations

from functools import cache
from typing import Any


def client(service: str) -> Any:
    return _cached(service)


@cache
def _cached(service: str) -> Any:
    import boto3

    from shared.aws import config

    return boto3.client(service, config=config(service))


def reset() -> None:
    """Forget the clients (tests point the SDK at another endpoint between cases)."""
    _cached.cache_clear()
