"""`python -m load` end to end, short: a local stack, 5 locust users for 20 s, the invariants.

Slow (~2.5 min: the stack's start-up, the run, then waiting for unpaid orders and idle carts to
give their stock back), so it runs with `make test`, not `make test-fast`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_load_run_passes_and_reaches_checkout_and_payment(tmp_path):
    report = tmp_path / "REPORT.md"
    env = {
        **os.environ,
        "LOAD_USERS": "5",
        "LOAD_DURATION": "20s",
        # Short knobs: the invariants wait out the reservation TTL and the payment window of the
        # last orders (the load run's defaults, 30 s and 20 s, only make this test slower).
        "LOAD_RESERVATION_TTL_SECONDS": "15",
        "LOAD_PAYMENT_WINDOW_SECONDS": "15",
        # 48 of the 204 demo products (2-3 per category, 3 hot ones): seeding them all was ~15 s.
        "LOAD_DEMO_PRODUCTS": "48",
        "LOAD_RESULTS_DIR": str(tmp_path / "results"),
        "LOAD_REPORT": str(report),
    }
    env.pop("PORT", None)  # a free port, whatever the caller's environment says
    run = subprocess.run([sys.executable, "-m", "load"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    text = report.read_text() if report.exists() else ""
    assert run.returncode == 0, f"exit {run.returncode}\n{text or run.stdout[-5000:]}\n{run.stderr[-5000:]}"
    assert "**PASS**" in text

    def requests(method: str, name: str) -> int:
        found = re.search(rf"^\| {method} \| `{re.escape(name)}` \| (\d+) \| 0 \|", text, re.MULTILINE)
        return int(found.group(1)) if found else 0

    assert requests("POST", "/api/v1/orders") > 0, text
    assert requests("POST", "/api/v1/sandbox/payments/{id}") > 0, text
    assert "BROKEN" not in text
    # AND the report says how busy the stack's process was: some CPU, within one process's cores
    cpu = re.search(r"= \*\*([\d.]+) of a core\*\*, \*\*([\d.]+) ms per request\*\*", text)
    assert cpu, text
    assert 0 < float(cpu.group(1)) <= (os.cpu_count() or 1) and float(cpu.group(2)) > 0, cpu.group(0)
