"""The non-AWS servers of the local stack: an OpenSearch-compatible server and a cache server."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("local.services")


@dataclass
class RunningService:
    name: str
    url: str
    stop_callback: Any

    def stop(self) -> None:
        self.stop_callback()


def start_search(port: int) -> RunningService:
    """osmem-server on 127.0.0.1 (an in-memory OpenSearch-compatible server)."""
    from osmem_server import OsmemServer

    server = OsmemServer.start(addr=f"127.0.0.1:{port}", japanese=False)
    return RunningService("opensearch (osmem-server)", server.url, server.close)


def start_cache(port: int) -> RunningService:
    """A real redis-server where installed (closest to ElastiCache); fakeredis's TCP server otherwise."""
    binary = shutil.which("redis-server")
    if binary:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        _wait_for_port(port, process)

        def stop() -> None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()

        return RunningService("cache (redis-server)", f"redis://127.0.0.1:{port}/0", stop)

    log.warning("redis-server not found; using fakeredis (install redis-server for a real one)")
    import threading

    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop_fake() -> None:
        server.shutdown()
        server.server_close()

    return RunningService("cache (fakeredis)", f"redis://127.0.0.1:{port}/0", stop_fake)


def _die_with_parent() -> None:
    """Linux: the cache server gets SIGTERM when the stack's process dies, even by SIGKILL, so
    an interrupted start-up never leaves it behind (osmem-server watches its parent itself)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cache server exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"cache server did not listen on {port} within {timeout} s")
