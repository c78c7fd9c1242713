"""The availability projector's heartbeat, which the hold sweeper writes on every run: its stream
record moves the availability cache's watermark while no stock moves (store/heartbeat.py)."""

from __future__ import annotations

from functions.inventory import store


def beat() -> None:
    """The heartbeat item, at now (epoch ms)."""
    store.current().beat()
