"""`python -m load` (what `make load` runs): a bounded, headless locust run of the shopper mix
against a local stack started in this process, then the invariants once everything has settled.

    make load                                   # 20 users, 3 minutes
    LOAD_USERS=5 LOAD_DURATION=20s make load    # a short one

Locust runs in a separate process (it monkey-patches with gevent; the stack's threads must never
be). The stack runs with short knobs (PAYMENT_WINDOW_SECONDS=20, RESERVATION_TTL_SECONDS=30 unless
LOAD_PAYMENT_WINDOW_SECONDS / LOAD_RESERVATION_TTL_SECONDS say otherwise) so that unpaid orders
and idle carts give their stock back soon after the run. The report (throughput, p50/p95/p99 per
endpoint, expected 409s, unexpected errors, invariants) is printed and written to load/REPORT.md;
the exit code is 1 on any unexpected error or broken invariant.

Other knobs: PORT (default: a free port), LOAD_DEMO_PRODUCTS (how many demo products to seed;
default all 204), LOAD_SPAWN_RATE (5/s), LOAD_RESULTS_DIR (locust's CSVs and the journal;
default: a new temporary directory), LOAD_REPORT (default load/REPORT.md).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOCUSTFILE = HERE / "locustfile.py"
REPORT = HERE / "REPORT.md"
STOP_TIMEOUT_SECONDS = 15
HOT_PRODUCTS = 8  # products made scarce before the run: shoppers contend for them
HOT_STOCK = 3  # on-hand units per SKU of a hot product when the run starts (the seller restocks a few)


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _seconds(duration: str) -> int:
    """locust's -t syntax (3m, 20s, 1h30m, 90) in seconds."""
    total, number = 0, ""
    for char in duration.strip():
        if char.isdigit():
            number += char
        else:
            total += int(number or 0) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total + int(number or 0)


class ErrorCounter(logging.Handler):
    """Counts what the stack's own loggers record at ERROR or above (its log file has them all).
    The saga's compensations are expected: moto logs each compensated checkout's Fail state."""

    EXPECTED = ("CheckoutCompensated",)

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not any(expected in message for expected in self.EXPECTED):
            self.records.append(f"{record.name}: {message.splitlines()[0][:200] if message else ''}")


def log_to_file(path: Path) -> ErrorCounter:
    """Everything the stack logs (the handlers' JSON lines included) goes to `path`, not the
    console, which keeps the progress and the report. The handlers' logger is made here, before
    the stack imports any handler, so its stream handler can be pointed at the file (it logs at
    INFO, as in AWS, rather than the dev stage's DEBUG)."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), filename=str(path),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from shared.observability import SERVICE, logger  # noqa: F401 - creates the handlers' logger

    log_file = path.open("a", encoding="utf-8")  # noqa: SIM115 - open for the process's lifetime
    for handler in logging.getLogger(SERVICE).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_file)
    logging.getLogger(SERVICE).propagate = False  # its own handler writes it (as JSON) already
    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger(SERVICE).addHandler(counter)
    return counter


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    users = int(_env("LOAD_USERS", "20"))
    spawn_rate = _env("LOAD_SPAWN_RATE", "5")
    duration = _env("LOAD_DURATION", "3m")
    window = int(_env("LOAD_PAYMENT_WINDOW_SECONDS", "20"))
    ttl = int(_env("LOAD_RESERVATION_TTL_SECONDS", "30"))
    results = Path(os.environ.get("LOAD_RESULTS_DIR") or tempfile.mkdtemp(prefix="load-"))
    results.mkdir(parents=True, exist_ok=True)
    report_path = Path(os.environ.get("LOAD_REPORT") or REPORT)
    # The knobs the stack hands to its handlers: read when it starts.
    os.environ["PAYMENT_WINDOW_SECONDS"] = str(window)
    os.environ["RESERVATION_TTL_SECONDS"] = str(ttl)

    errors = log_to_file(results / "stack.log")
    from local.stack import LocalStack, StartupError

    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    products = os.environ.get("LOAD_DEMO_PRODUCTS")  # how much of the demo catalog (default: all of it)
    stack = LocalStack(port=int(os.environ.get("PORT") or 0), seed=True, demo_product_count=int(products) if products else None)
    try:
        stack.start()
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        stack.stop()
        return 130
    try:
        print(f"local stack ready in {time.perf_counter() - started:.0f} s at {stack.url}", flush=True)
        config = {"users": users, "spawn_rate": spawn_rate, "duration": duration, "payment_window": window, "ttl": ttl}
        errors.records.clear()  # from here on: what the load caused
        return run(stack, config, results, report_path, errors)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        stack.stop()


def run(stack: Any, config: dict[str, Any], results: Path, report_path: Path, errors: ErrorCounter) -> int:
    from load import invariants

    journal = results / "journal.jsonl"
    counts = results / "counts.json"
    for stale in (journal, counts):
        stale.unlink(missing_ok=True)
    prefix = results / "locust"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(config["users"]), "-r", str(config["spawn_rate"]), "-t", config["duration"],
        "--host", stack.url, "--csv", str(prefix), "--only-summary",
        "--stop-timeout", str(STOP_TIMEOUT_SECONDS), "--exit-code-on-error", "0", "--loglevel", "WARNING",
    ]
    hot, hot_skus = make_scarce(stack)
    config["scarce"] = f"{len(hot)} products ({hot_skus} SKUs) set to {HOT_STOCK} units each before the run"
    env = {**os.environ, "LOAD_JOURNAL": str(journal), "LOAD_COUNTS": str(counts), "LOAD_HOT_PRODUCTS": ",".join(hot),
           "LOAD_SELLER_EMAIL": "seller@example.com", "LOAD_SELLER_PASSWORD": stack.demo_password}
    print(f"locust: {config['users']} users (spawn {config['spawn_rate']}/s) for {config['duration']} against {stack.url}; "
          f"CSVs and journal in {results}", flush=True)
    locust_started = time.monotonic()
    cpu_before, machine_before = _process_cpu_seconds(), _machine_jiffies()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        locust_code = process.wait(timeout=_seconds(config["duration"]) + STOP_TIMEOUT_SECONDS + 120)
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    locust_seconds = time.monotonic() - locust_started
    config["cpu"] = _cpu_use(cpu_before, machine_before, locust_seconds)
    print(f"locust exited with {locust_code} after {locust_seconds:.0f} s; settling, then checking the invariants...", flush=True)

    settle_timeout = config["ttl"] + config["payment_window"] + 90
    checks = invariants.run_checks(stack, journal, settle_timeout)
    stats = read_csv(Path(f"{prefix}_stats.csv"))
    failures = read_csv(Path(f"{prefix}_failures.csv"))
    exceptions = read_csv(Path(f"{prefix}_exceptions.csv"))
    extra = json.loads(counts.read_text()) if counts.exists() else {"expected_409": [], "checkouts": {}}
    text, ok = render(config, stats, failures, exceptions, extra, checks, locust_code, errors.records, results)
    print("\n" + text, flush=True)
    report_path.write_text(text)
    print(f"written to {report_path}")
    return 0 if ok else 1


def _process_cpu_seconds() -> float:
    """CPU time of this process, every thread: the whole stack but its servers (osmem, redis)."""
    times = os.times()
    return times.user + times.system


def _machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat; None off Linux."""
    try:
        # user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _cpu_use(cpu_before: float, machine_before: tuple[int, int] | None, seconds: float) -> dict[str, float]:
    """How busy the stack's process and the machine were while locust ran: whether the stack or
    the shoppers' pauses set the pace (a stack at ~1.0 core is GIL-bound, ADR 0036)."""
    use = {"stack_cpu_seconds": _process_cpu_seconds() - cpu_before, "seconds": seconds}
    machine_after = _machine_jiffies()
    if machine_before and machine_after and machine_after[1] > machine_before[1]:
        use["machine_busy"] = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    return use


def _cpu_line(config: dict[str, Any], requests: int) -> list[str]:
    use = config.get("cpu")
    if not use or not requests or not use["seconds"]:
        return []
    cores = use["stack_cpu_seconds"] / use["seconds"]
    machine = (f"; the machine's {os.cpu_count()} cores were {use['machine_busy']:.0%} busy (locust, osmem-server and "
               f"redis included)") if "machine_busy" in use else ""
    return [f"Stack CPU while locust ran (the stack's one process: gateway, handlers, moto, Step Functions, pollers): "
            f"{use['stack_cpu_seconds']:.0f} s in {use['seconds']:.0f} s = **{cores:.2f} of a core**, "
            f"**{use['stack_cpu_seconds'] * 1000 / requests:.1f} ms per request**{machine}. Near 1.00 of a core the stack "
            f"sets the pace (one GIL); well below it, the shoppers' pauses do.", ""]


def make_scarce(stack: Any) -> tuple[list[str], int]:
    """The demo seller sets every SKU of the first HOT_PRODUCTS products of the first category to
    HOT_STOCK units (through the API), so that shoppers sell them out and race for the rest."""
    from local.seed import api_call, sign_in

    token = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    status, tree = api_call(stack, "GET", "/api/v1/categories")
    leaf = next(child["category_id"] for node in tree["data"] for child in node.get("children", []))
    status, page = api_call(stack, "GET", f"/api/v1/products?category={leaf}&limit={HOT_PRODUCTS}")
    hot = [item["product_id"] for item in page["data"]["items"]]
    skus = 0
    for product_id in hot:
        status, product = api_call(stack, "GET", f"/api/v1/products/{product_id}")
        for sku in product["data"]["skus"]:
            status, answer = api_call(stack, "PUT", f"/api/v1/inventory/{sku['sku_id']}", {"on_hand": HOT_STOCK}, token)
            if status != 200:
                raise RuntimeError(f"making {sku['sku_id']} scarce failed: {status} {answer}")
            skus += 1
    return hot, skus


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * pct / 100) - 1))]


def _ms(value: str) -> str:
    return "-" if value in ("", "N/A", None) else f"{float(value):.0f}"


def _think_time_bound(config: dict[str, Any], rows: list[dict[str, str]], requests: int) -> list[str]:
    """What the shoppers' own pauses allow, by Little's law: N users = throughput x (response + think)."""
    seconds, users = _seconds(str(config["duration"])), int(config["users"])
    if not requests or not seconds:
        return []
    mean = sum(float(row["Average Response Time"]) * int(row["Request Count"]) for row in rows) / requests / 1000
    cycle = users * seconds / requests  # seconds per request, per shopper
    think = cycle - mean
    if think <= 0:
        return []
    return [f"Think-time bound (Little's law): each shopper spent {cycle:.2f} s per request, {mean:.2f} s of it waiting for the "
            f"stack (mean response) and {think:.2f} s in its own pauses (locust's wait_time, the checkout polls); so {users} "
            f"shoppers of this mix make at most **{users / think:.1f} req/s** however fast the stack answers.", ""]


def render(config: dict[str, Any], stats: list[dict[str, str]], failures: list[dict[str, str]], exceptions: list[dict[str, str]],
           extra: dict[str, Any], checks: list[Any], locust_code: int, logged: list[str], results: Path) -> tuple[str, bool]:
    rows = [row for row in stats if row["Name"] != "Aggregated" and row["Type"] != "CHECK"]
    aggregated = next((row for row in stats if row["Name"] == "Aggregated"), None)
    requests = sum(int(row["Request Count"]) for row in rows)
    http_failures = sum(int(row["Failure Count"]) for row in rows)
    check_failures = sum(int(row["Failure Count"]) for row in stats if row["Type"] == "CHECK")
    unexpected = sum(int(row["Occurrences"]) for row in failures)
    exception_count = sum(int(row["Count"]) for row in exceptions)
    expected = extra.get("expected_409", [])
    expected_total = sum(entry["count"] for entry in expected)
    rps = float(aggregated["Requests/s"]) if aggregated else 0.0
    # Locust's aggregate includes the CHECK pseudo-requests (always 0 unless failed): scale them out.
    total_with_checks = int(aggregated["Request Count"]) if aggregated else 0
    if total_with_checks:
        rps = rps * requests / total_with_checks
    broken = [check for check in checks if not check.ok]
    ok = requests > 0 and unexpected == 0 and exception_count == 0 and not broken

    out = [
        "# Load test report",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}: "
        f"`make load` = locust headless, {config['users']} users (spawn {config['spawn_rate']}/s) for {config['duration']} "
        f"against the local stack (PAYMENT_WINDOW_SECONDS={config['payment_window']}, RESERVATION_TTL_SECONDS={config['ttl']}); "
        f"contended stock: {config.get('scarce', 'none')}.",
        "",
        f"**{'PASS' if ok else 'FAIL'}**: {requests} requests, **{rps:.1f} req/s**, "
        f"{unexpected} unexpected errors ({http_failures} HTTP, {check_failures} checks), {exception_count} exceptions, "
        f"{expected_total} expected 409s; invariants: {len(checks) - len(broken)}/{len(checks)} hold.",
        "",
        *_think_time_bound(config, rows, requests),
        *_cpu_line(config, requests),
        "## Per endpoint (ms)",
        "",
        "| method | endpoint | requests | unexpected errors | req/s | p50 | p95 | p99 | max |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: (r["Name"], r["Type"])):
        out.append(f"| {row['Type']} | `{row['Name']}` | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.2f} "
                   f"| {_ms(row['50%'])} | {_ms(row['95%'])} | {_ms(row['99%'])} | {_ms(row['Max Response Time'])} |")
    if aggregated:
        out.append(f"| | **all** | {requests} | {http_failures} | {rps:.2f} | {_ms(aggregated['50%'])} | {_ms(aggregated['95%'])} "
                   f"| {_ms(aggregated['99%'])} | {_ms(aggregated['Max Response Time'])} |")
    flows = extra.get("flows") or {}
    if flows:
        out += ["", "## End-to-end steps across several requests (ms; not in the request counts)", "",
                "| step | count | p50 | p95 | p99 | max |", "|---|---:|---:|---:|---:|---:|"]
        for name, values in sorted(flows.items()):
            out.append(f"| {name} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} "
                       f"| {percentile(values, 99):.0f} | {max(values):.0f} |")
    out += ["", "## Expected 409s (counted as successes)", ""]
    if expected:
        out += ["| request | code | count |", "|---|---|---:|"]
        out += [f"| `{entry['request']}` | {entry['code']} | {entry['count']} |" for entry in expected]
    else:
        out.append("none")
    checkouts = extra.get("checkouts") or {}
    if checkouts:
        out += ["", "## Checkouts (as the shoppers saw them)", ""]
        out += [f"- {name}: {count}" for name, count in sorted(checkouts.items())]
    out += ["", "## Unexpected errors", ""]
    if not failures and not exceptions:
        out.append("none")
    for row in failures:
        out.append(f"- {row['Occurrences']} x {row['Method']} `{row['Name']}`: {row['Error']}")
    for row in exceptions:
        out.append(f"- {row['Count']} x exception: {row['Message']} at {row['Traceback'].strip().splitlines()[-1] if row['Traceback'] else ''}")
    if locust_code not in (0, 1):
        out.append(f"- locust exited with {locust_code}")
    out += ["", "## Invariants after the run", ""]
    for check in checks:
        out.append(f"- **{'ok' if check.ok else 'BROKEN'}** {check.name}: {check.summary}")
        for problem in check.problems[:SHOWN]:
            out.append(f"  - {problem}")
        if len(check.problems) > SHOWN:
            out.append(f"  - ... and {len(check.problems) - SHOWN} more")
    out += ["", f"Errors the stack logged during the run (all logs: `{results / 'stack.log'}`): {len(logged) or 'none'}"]
    for message, count in Counter(logged).most_common(SHOWN):
        out.append(f"- {count} x {message}")
    if requests == 0:
        out += ["", "No request was made: locust did not run."]
    return "\n".join(out) + "\n", ok


SHOWN = 15

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
