"""Flash sale on ONE hot SKU with per-item write capacity metered (ADR 0022, ADR 0023).

Many guests over HTTP add one unit each in a loop while the local DynamoDB meters every item's
write capacity at a scaled-down limit (a transaction on an item then takes 2 / WCU s, and a
second one meanwhile is cancelled with TransactionConflict, as on AWS). The limit is calibrated
to this machine: an unmetered run first measures what the local stack itself can do (R/s), and
the per-item limit is set so that N buckets together offer ~60% of it. On AWS the functions
scale out and the item is the bottleneck; here the same holds only if the item's limit sits
below the laptop's, which is what the calibration ensures (else both runs measure the laptop).
Side by side in one run: the SKU as one stock item (today) vs the same SKU over N buckets, then
the sell-out: a small bucketed SKU rushed by every client must sell exactly its units.

Both capacity models of the local DynamoDB run side by side, at the same calibrated limit:
ADR 0023's per-item model (each item W WCU/s, reads free: what the buckets were designed
against) and DynamoDB's documented rules (ADR 0051: W WCU/s and 3W RCU/s per PARTITION, so a
SKU's buckets, which share its partition key, share it; reads metered; a TransactGetItems
cancelled for an item with a write in flight, which the bucketed SKU's snapshot read is).

The admission gate (functions/inventory/gate.py, ADR 0024) is on by default wherever the cache
works; the baseline runs switch it off (ADMISSION_GATE=off: the handlers run in this process, so
they read this process's environment), so that "1 item" and "N buckets" measure DynamoDB alone and
"gate + N buckets" adds only the gate. `EXTRA_RUNS` takes (label, prepare, gate) triples:
`prepare(stack, token, sku_id)` readies the SKU (buckets, the gate's cache key) and the run is
measured and reported like the others, as a ratio to the single item, with the gate on or off.
On an in-stock SKU the gate passes every request (one Lua call each); what it saves is after the
sell-out, which the sell-out rush (gate on, as deployed) and bench/sold_out_shedding.py show.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

CLIENTS = 32
SECONDS = 15.0
CALIBRATION_SECONDS = 6.0
BUCKETS = 8
HEADROOM = 0.6  # N buckets' metered capacity as a share of what the unmetered stack does
AWS_WCU_PER_ITEM = 1000
SELL_OUT_UNITS = 100



def _gate_ready(stack, token: str, sku_id: str) -> None:
    """N buckets, and the gate's read model holding the SKU (as the stream would have it by the
    time a sale starts): every request then costs the gate one Lua call, nothing more."""
    import redis

    from functions.inventory import availability

    _put(stack, token, sku_id, {"buckets": BUCKETS})
    availability.rebuild(redis.Redis.from_url(stack.cache.url, decode_responses=True), [sku_id])


# (label, prepare(stack, seller token, sku_id), admission gate on) runs measured after the bucket runs.
EXTRA_RUNS: list[tuple[str, Callable[[Any, str, str], None], bool]] = [
    (f"gate + {BUCKETS} buckets", _gate_ready, True),
]


@contextmanager
def admission_gate(on: bool) -> Iterator[None]:
    """ADMISSION_GATE for the handlers (in this process) for the block; back to what it was after."""
    previous = os.environ.get("ADMISSION_GATE")
    os.environ["ADMISSION_GATE"] = "on" if on else "off"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ADMISSION_GATE", None)
        else:
            os.environ["ADMISSION_GATE"] = previous


def _put(stack, token: str, sku_id: str, body: dict) -> dict:
    from local.seed import api_call

    status, answer = api_call(stack, "PUT", f"/api/v1/inventory/{sku_id}", body, token)
    assert status == 200, answer
    return answer["data"]


def _run(url: str, sku_id: str, seconds: float, stop_when_sold_out: bool = False) -> dict[str, float]:
    import requests

    counts = {"ok": 0, "oos": 0, "busy": 0, "other": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    sold_out = threading.Event()

    def client(_: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop and not (stop_when_sold_out and sold_out.is_set()):
            status = session.post(url, json={"sku_id": sku_id, "quantity": 1}, timeout=120).status_code
            key = "ok" if status == 201 else "oos" if status == 409 else "busy" if status == 503 else "other"
            with lock:
                counts[key] += 1
            if status == 409:
                sold_out.set()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    elapsed = time.monotonic() - started
    return {**counts, "seconds": elapsed, "rate": counts["ok"] / elapsed}


def _measure(stack, token: str, url: str, wcu: float, rules: str,
             ) -> tuple[list[tuple[str, str, dict[str, float], dict[str, int], bool]], dict[str, float], str]:
    """The runs (1 item, N buckets, EXTRA_RUNS) and the sell-out rush, metered at `wcu` under
    `rules` (per item: ADR 0023; per partition, DynamoDB's rules: ADR 0051)."""
    from bench.reservations import _create_product
    from local.capacity import metered
    from tests.inventory.stock_audit import audit

    runs: list[tuple[str, str, dict[str, float], dict[str, int], bool]] = []
    plans: list[tuple[str, Callable[[Any, str, str], None], bool]] = [
        ("1 stock item (today)", lambda s, t, sku: _put(s, t, sku, {"buckets": 1}), False),
        (f"{BUCKETS} buckets", lambda s, t, sku: _put(s, t, sku, {"buckets": BUCKETS}), False),
        *EXTRA_RUNS,
    ]
    # The seller's set-up runs unmetered: a scaled-down partition (a few RCU/s) would throttle its
    # burst of reads, which on AWS (3,000 RCU/s) nothing notices; each run starts with full buckets.
    for label, prepare, gate in plans:
        (sku_id,) = _create_product(stack, token, 1, 100_000)
        prepare(stack, token, sku_id)
        with metered(wcu, rules=rules) as meter, admission_gate(gate):
            result = _run(url, sku_id, SECONDS)
            counters = _counters(meter)
        runs.append((label, sku_id, result, counters, gate))
    (small,) = _create_product(stack, token, 1, SELL_OUT_UNITS)
    _put(stack, token, small, {"buckets": BUCKETS})
    with metered(wcu, rules=rules), admission_gate(True):  # as deployed
        sell_out = _run(url, small, 90.0, stop_when_sold_out=True)
        deadline = time.monotonic() + 10  # the last 409 may race the last successes by a moment
        while time.monotonic() < deadline and audit(stack, small).available:
            time.sleep(0.2)
    return runs, sell_out, small


def _counters(meter) -> dict[str, int]:
    return {"conflicts": meter.conflicts, "throttles": meter.throttles,
            "read_conflicts": meter.read_conflicts, "read_throttles": meter.read_throttles}


def report() -> str:
    import logging

    from bench.reservations import _create_product
    from bench.stack import shared_stack
    from local.capacity import RULES_AWS, RULES_ITEM
    from local.seed import sign_in
    from tests.inventory.stock_audit import audit

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = shared_stack()
    token = sign_in(stack, "seller@example.com", stack.demo_password)["AccessToken"]
    url = f"{stack.url}/api/v1/cart/items"
    (calibration_sku,) = _create_product(stack, token, 1, 100_000)
    _put(stack, token, calibration_sku, {"buckets": BUCKETS})
    with admission_gate(False):
        machine = _run(url, calibration_sku, CALIBRATION_SECONDS)["rate"]
    wcu_per_item = max(0.5, round(2 * HEADROOM * machine / BUCKETS, 2))
    measured = {rules: _measure(stack, token, url, wcu_per_item, rules) for rules in (RULES_ITEM, RULES_AWS)}
    runs, sell_out, small = measured[RULES_ITEM]
    base = runs[0][2]["rate"] or 1e-9
    lines = [
        "## Flash sale: one hot SKU, per-item write capacity metered",
        "",
        f"{CLIENTS} guests over HTTP, {SECONDS:.0f} s per run, each add a new hold. Unmetered, this machine's local "
        f"stack did {machine:.1f} reservations/s ({BUCKETS} buckets, {CALIBRATION_SECONDS:.0f} s); the local DynamoDB "
        f"was then metered at {wcu_per_item:.2f} WCU/s per item (a transaction costs 2 WCU per item, so one item takes "
        f"{wcu_per_item / 2:.2f} transactions/s; a second transaction while one is in flight gets TransactionConflict), "
        f"so that {BUCKETS} buckets offer {HEADROOM:.0%} of the machine.",
        "",
        "| run | admission gate | reservations/s | ratio to 1 item | 503 busy | other | TransactionConflict | "
        "throttled | invariants |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, sku_id, result, capacity, gate in runs:
        state = audit(stack, sku_id)
        lines.append(
            f"| {label} | {'on' if gate else 'off'} | {result['rate']:.1f} | **{result['rate'] / base:.2f}x** | "
            f"{int(result['busy'])} | "
            f"{int(result['other'])} | {capacity['conflicts']} | {capacity['throttles']} | "
            f"{'ok' if not state.problems() else '; '.join(state.problems())} |"
        )
    state = audit(stack, small)
    oversold = max(0, state.reserved - SELL_OUT_UNITS)
    ratio = runs[1][2]["rate"] / base if len(runs) > 1 else 0.0
    single_aws = AWS_WCU_PER_ITEM / 2 * (base / (wcu_per_item / 2))
    lines += [
        "",
        f"Sell-out: {SELL_OUT_UNITS} units over {BUCKETS} buckets rushed by {CLIENTS} clients: "
        f"**{int(sell_out['ok'])} reserved**, {int(sell_out['oos'])} answered 409, {int(sell_out['busy'])} 503; "
        f"oversold **{oversold}**; reserved {state.reserved} of {state.on_hand}, available {state.available}; "
        f"invariants per bucket and in total: {'ok' if not state.problems() else state.problems()}.",
        "",
        f"On AWS (1,000 WCU/s per item, transactions 2x: at most 500 transactional writes/s on one item): one item "
        f"reached {base / (wcu_per_item / 2):.0%} of its item's ceiling here, i.e. ~{single_aws:.0f} reservations/s "
        f"on AWS; {BUCKETS} buckets measured {ratio:.1f}x that, i.e. ~{single_aws * ratio:.0f} reservations/s before "
        "the table's other limits (partition 1,000 WCU/s each: the buckets share the SKU's partition until "
        "adaptive capacity splits it).",
    ]
    gated = [(label, result["rate"]) for label, _, result, _, gate in runs if gate]
    if gated and len(runs) > 1:
        label, rate = gated[0]
        lines += [
            "",
            f"{label}: **{rate / base:.2f}x** the single item, **{rate / (runs[1][2]['rate'] or 1e-9):.2f}x** "
            f"{BUCKETS} buckets without the gate. On an in-stock SKU the gate lets every request through (one Lua call "
            "in the cache each; a success is only ever DynamoDB's), so it neither adds nor costs write capacity; what "
            "it saves comes after the sell-out, when it answers 409 from memory instead of a cancelled transaction "
            "(see Sold-out shedding). The sell-out rush above ran with the gate on, as deployed.",
        ]
    lines += _aws_rules_section(measured[RULES_AWS], runs, wcu_per_item, audit, stack)
    return "\n".join(lines)


def _aws_rules_section(aws: tuple[list[tuple[str, str, dict[str, float], dict[str, int], bool]], dict[str, float], str],
                       item_runs: list[tuple[str, str, dict[str, float], dict[str, int], bool]], wcu: float,
                       audit: Callable[[Any, str], Any], stack: Any) -> list[str]:
    """The same runs under DynamoDB's documented rules (ADR 0051), next to the per-item model's."""
    runs, sell_out, small = aws
    base = runs[0][2]["rate"] or 1e-9
    lines = [
        "",
        "### The same runs under DynamoDB's documented rules (ADR 0051)",
        "",
        f"Same limit, per partition: {wcu:.2f} WCU/s and {3 * wcu:.2f} RCU/s per partition key (a SKU's buckets share "
        "its partition), reads metered (strongly consistent 1 RCU per 4 KB, eventual half, transactional 2), and a "
        "TransactGetItems (the bucketed SKU's snapshot read) cancelled for an item with any write in flight.",
        "",
        "| run | admission gate | reservations/s per-item model | reservations/s AWS rules | ratio to 1 item (AWS rules) | "
        "503 busy | other | TransactionConflict (writes) | TransactGetItems conflicts | throttled writes | throttled reads | "
        "invariants |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, sku_id, result, capacity, gate), (_, _, item_result, _, _) in zip(runs, item_runs, strict=True):
        state = audit(stack, sku_id)
        lines.append(
            f"| {label} | {'on' if gate else 'off'} | {item_result['rate']:.1f} | {result['rate']:.1f} | "
            f"**{result['rate'] / base:.2f}x** | {int(result['busy'])} | {int(result['other'])} | "
            f"{capacity['conflicts']} | {capacity['read_conflicts']} | {capacity['throttles']} | "
            f"{capacity['read_throttles']} | {'ok' if not state.problems() else '; '.join(state.problems())} |"
        )
    state = audit(stack, small)
    lines += [
        "",
        f"Sell-out under the AWS rules: **{int(sell_out['ok'])} reserved** of {SELL_OUT_UNITS}, "
        f"{int(sell_out['oos'])} answered 409, {int(sell_out['busy'])} 503; oversold "
        f"**{max(0, state.reserved - SELL_OUT_UNITS)}**; invariants: {'ok' if not state.problems() else state.problems()}.",
    ]
    return lines
