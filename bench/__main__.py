"""`python -m bench`: run every benchmark and write bench/REPORT.md.

`python -m bench cold_start sizes`: run only those, and replace only their sections of the
report (each module's sections sit between `<!-- bench:NAME -->` markers).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    authorizer,
    checkout,
    cold_start,
    flash_sale,
    idle_cpu,
    moto_calls,
    product_availability,
    product_page,
    reservations,
    run_ready,
    search,
    shopper_mix,
    sizes,
    sold_out_shedding,
)
from bench.stack import stop_shared_stack

OUT = Path(__file__).resolve().parent / "REPORT.md"


MODULES = {module.__name__.rsplit(".", 1)[1]: module for module in
           # search after the shared-stack benches: it stops the shared stack and resets moto for its 20,000-product
           # catalog; then shopper_mix (a stack per moto transport) and run_ready (`python -m local` subprocesses)
           (cold_start, sizes, moto_calls, idle_cpu, authorizer, product_page, product_availability, reservations, sold_out_shedding,
            flash_sale, checkout, search, shopper_mix, run_ready)}  # fmt: skip


def _marked(name: str, section: str) -> str:
    return f"<!-- bench:{name} -->\n{section}\n<!-- /bench:{name} -->"


def _replace_section(report: str, name: str, section: str) -> str:
    """report with module `name`'s marked sections replaced (appended if it has none)."""
    pattern = re.compile(rf"<!-- bench:{name} -->\n.*?\n<!-- /bench:{name} -->", re.DOTALL)
    if pattern.search(report):
        return pattern.sub(lambda _: _marked(name, section), report)
    return report.rstrip("\n") + "\n\n" + _marked(name, section) + "\n"


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        print(f"unknown benchmarks {unknown}; choose from {sorted(MODULES)}", file=sys.stderr)
        return 2
    header = (
        f"# Benchmark report\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.\n"
        "Ratios compare things measured side by side in this one run.\n"
    )
    sections = {}
    try:
        for name, module in MODULES.items():
            if names and name not in names:
                continue
            section = module.report()
            print(section, "\n", flush=True)
            sections[name] = section
    finally:
        stop_shared_stack()
    if names and OUT.exists():  # a partial run: the other sections stay as the last full run wrote them
        report = OUT.read_text()
        for name, section in sections.items():
            report = _replace_section(report, name, section)
        OUT.write_text(report)
    else:
        OUT.write_text("\n\n".join([header, *(_marked(name, section) for name, section in sections.items())]) + "\n")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
