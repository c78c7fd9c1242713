"""The background thread every local "AWS service loop" runs on (stream poller, TTL sweeper,
scheduler): start() once, tick() until stop(), a failing tick logged and retried next time."""

from __future__ import annotations

import logging
import threading

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
            self._stop.wait(self.seconds_until_next_tick())
