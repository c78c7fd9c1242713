"""The background thread every local "AWS service loop" runs on (stream poller, TTL sweeper,
scheduler): start() once, tick() until stop(), a failing tick logged and retried next time."""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundLoop:
    thread_name = "background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def seconds_until_next_tick(self) -> float:
        raise NotImplementedError

    def _on_start(self) -> None:
        """Called before the thread starts (e.g. to schedule the first tick)."""

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._on_start()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("%s: tick failed", self.thread_name)
            self._sleep(self.seconds_until_next_tick())

    def _sleep(self, seconds: float) -> None:
        """Wait before the next tick (a loop that can be woken by work overrides it)."""
        self._stop.wait(seconds)


class PollingLoop(BackgroundLoop):
    """A background loop over event source mappings (stream or queue): each consumer's `poll(flush)`
    runs in turn under one lock, every `interval` seconds or on demand (`poll_once`, in tests)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.RLock()  # poll_once and the thread never interleave
        self.consumers: dict[str, Any] = {}
        super().__init__()

    def poll_once(self, flush: bool = True) -> int:
        """Poll every consumer once; returns how many records or messages were handed to functions
        (handed over again on a retry, they count again, so 0 means nothing happened). With `flush`
        (the default) partial batches do not wait for the batching window."""
        delivered = 0
        with self._lock:
            for logical_id, consumer in self.consumers.items():
                try:
                    delivered += consumer.poll(flush)
                except Exception:  # one broken consumer must not stop the others
                    logger.exception("%s: polling failed", logical_id)
        return delivered

    def tick(self) -> None:
        self.poll_once(flush=False)

    def seconds_until_next_tick(self) -> float:
        return self.interval
