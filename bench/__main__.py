"""`python -m bench`: run every benchmark and write bench/REPORT.md."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import authorizer, checkout, cold_start, idle_cpu, product_availability, product_page, reservations, search, sizes
from bench.stack import stop_shared_stack

OUT = Path(__file__).resolve().parent / "REPORT.md"


def main() -> int:
    header = (
        f"# Benchmark report\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.\n"
        "Ratios compare things measured side by side in this one run.\n"
    )
    sections = [header]
    try:
        # search last: it stops the shared stack and resets moto for its 20,000-product catalog
        for module in (cold_start, sizes, idle_cpu, authorizer, product_page, product_availability, reservations, checkout, search):
            section = module.report()
            print(section, "\n", flush=True)
            sections.append(section)
    finally:
        stop_shared_stack()
    OUT.write_text("\n\n".join(sections) + "\n")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
