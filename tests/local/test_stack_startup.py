"""Clear start-up errors and a clean shutdown."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from local.stack import LocalStack, StartupError

ROOT = Path(__file__).resolve().parents[2]
DEMO_PRODUCTS = 6


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StartupError, match=f"port {port} .* is taken.*PORT="):
            LocalStack(port=port).start()


def test_missing_node_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("local.stack.shutil.which", lambda name: None)
    with pytest.raises(StartupError, match="Node.js is missing"):
        LocalStack(port=0).start()


def test_python_m_local_serves_the_seeded_tree_seeds_the_catalog_in_the_background_and_stops_cleanly_on_sigterm():
    # GIVEN `python -m local` (what `make run` runs) on a free port, with a short demo catalog
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "local"], cwd=ROOT,
        env={**__import__("os").environ, "PORT": str(port), "DEMO_PRODUCTS": str(DEMO_PRODUCTS)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        banner = []
        deadline = time.monotonic() + 180  # a cold start on a busy 2-core machine can take over 90 s
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Ctrl-C" in line or not line:
                break
        text = "".join(banner)
        # THEN it prints the URL and the demo admin's credentials, and serves the tree
        assert f"http://127.0.0.1:{port}/api/v1/categories" in text, text
        assert "admin@example.com" in text
        response = requests.get(f"http://127.0.0.1:{port}/api/v1/categories", timeout=10)
        assert response.status_code == 200 and len(response.json()["data"]) >= 5
        # AND it said it is still seeding the catalog, then says when the catalog is done (ADR 0033)
        assert f"seeding {DEMO_PRODUCTS} more products in the background" in text, text
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "demo catalog seeded" in line or not line:
                break
        assert f"demo catalog seeded: {DEMO_PRODUCTS} products" in "".join(banner), "".join(banner)
        # THEN every demo product is listed through the API (the first leaf category holds the first one)
        phones = next(c for n in response.json()["data"] for c in n["children"] if c["name"] == "Phones")
        listed = requests.get(f"http://127.0.0.1:{port}/api/v1/products", params={"category": phones["category_id"]}, timeout=10)
        assert listed.status_code == 200 and listed.json()["data"]["items"], listed.text
    finally:
        # WHEN it is asked to stop  THEN it exits 0 and frees the port
        process.terminate()
        assert process.wait(timeout=30) == 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
