"""Cold starts of every deployed handler, from the built layers and code asset, vs `import boto3`.

Each measurement is a fresh Python 3.12 interpreter of the Lambda twin (infra/lambda_twin.py): the
functions asset and the layers built from the lock files (with their bytecode), the runtime's
boto3, and no venv: what a new execution environment loads. Two sections:

(a) import of the handler module, interleaved with `import boto3` (what the runtime provides and
    any handler that calls AWS pays anyway), median of RUNS;
(b) import PLUS the first invocation with the handler's sample event (events/, its placeholders
    swapped for real data of the local stack, as tests/functions/test_sample_events.py does),
    against the local stack's moto, OpenSearch and cache servers, median of INVOKE_RUNS.

Times are the interpreter's CPU time (time.process_time): on a 2-core machine shared with other
work, wall time mostly measures waiting for a core, which a Lambda cold start (init burst on a
dedicated vCPU) does not. The first invocation's wall time is shown too: it includes moto's work.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # infra.checkout loads aws_cdk

from infra.handlers import deployed_handlers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# COLD_START_RUNS / COLD_START_INVOKE_RUNS: fewer rounds on a busy machine (the report says how many).
RUNS = int(os.environ.get("COLD_START_RUNS", "7"))
INVOKE_RUNS = int(os.environ.get("COLD_START_INVOKE_RUNS", "2"))
SAMPLE_ATTEMPTS = 3
TARGET_RATIO = 1.5  # issue 14: every handler's import <= 1.5x `import boto3`
IMPORT_ENVIRONMENT = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "CATALOG_TABLE_NAME": "catalog"}

_IMPORT_TIMER = (
    "import time; t = time.process_time(); {statement}; print((time.process_time() - t) * 1000)"
)
# The first invocation, as the Lambda runtime makes it: import the module, get the handler, call it.
_INVOKE = """
import json, time, uuid
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = str(uuid.uuid4()); log_group_name = "/aws/lambda/bench"; log_stream_name = "bench"
    def get_remaining_time_in_millis(self): return 10_000
event = json.load(open(EVENT_PATH))
cpu, wall = time.process_time(), time.perf_counter()
module = __import__(MODULE, fromlist=["_"])
imported_cpu = time.process_time()
result = getattr(module, ATTRIBUTE)(event, Context())
done_cpu, done_wall = time.process_time(), time.perf_counter()
status = result.get("statusCode") if isinstance(result, dict) else None
ok = (200 <= status < 300) if status is not None else not (isinstance(result, dict) and result.get("batchItemFailures"))
print(json.dumps({"import": (imported_cpu - cpu) * 1000, "invoke": (done_cpu - imported_cpu) * 1000,
                  "total": (done_cpu - cpu) * 1000, "wall": (done_wall - wall) * 1000, "ok": ok, "status": status}))
"""
# The saga's steps share one module; its first invocation is ValidateCart of an order already
# validated (a retried step: one read of the order), the cheapest step that touches its table.
SAGA_STEP = "functions.orders.consumers.saga.validate_cart"


def handler_modules() -> list[tuple[str, str]]:
    """(module, what runs it) for every Python handler the stack deploys (infra/handlers.py; the
    saga's steps share one module)."""
    kinds: dict[str, str] = {}
    for handler, kind in deployed_handlers():
        kinds.setdefault(handler.rsplit(".", 1)[0], kind)
    return list(kinds.items())


def _handler_of(module: str) -> str:
    return SAGA_STEP if module == SAGA_STEP.rsplit(".", 1)[0] else f"{module}.handler"


def _twin():
    from infra.lambda_twin import build_twin

    return build_twin()


def _import_ms(twin: Any, statement: str, handler: str) -> float:
    from infra.lambda_twin import layers_for

    result = twin.run(_IMPORT_TIMER.format(statement=statement), layers_for(handler), env=IMPORT_ENVIRONMENT)
    if result.returncode != 0:
        raise RuntimeError(f"{statement} failed in the Lambda twin:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def measure_imports(twin: Any) -> list[tuple[str, float, float]]:
    """(handler module, median CPU ms, ratio to `import boto3`), the boto3 baseline first."""
    targets = {"import boto3": ("import boto3", "boto3")}
    for module, _ in handler_modules():
        targets[module] = (f"import {module}", _handler_of(module))
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(RUNS):  # interleaved, so machine noise hits every target alike
        for name, (statement, handler) in targets.items():
            samples[name].append(_import_ms(twin, statement, handler))
    baseline = statistics.median(samples["import boto3"])
    return [(name, statistics.median(values), statistics.median(values) / baseline) for name, values in samples.items()]


# -- (b) import + first invocation against the local stack ---------------------------------------
def _sample_event(handler: str, stack: Any, tokens: dict) -> dict:
    """The handler's events/ sample with this stack's real data (the sample-event test's helpers,
    which assert on the stack's answers: on a busy machine a checkout may not be payable within
    POST /orders' wait, so a failed preparation is tried again)."""
    for attempt in range(1, SAMPLE_ATTEMPTS + 1):
        try:
            return _prepared_event(handler, stack, tokens)
        except AssertionError:
            if attempt == SAMPLE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _prepared_event(handler: str, stack: Any, tokens: dict) -> dict:
    from tests.functions import test_sample_events as samples

    if handler == SAGA_STEP:
        return {"order_id": samples._pending_order(stack, tokens)["order_id"]}
    event = json.loads(samples._event_path(handler).read_text())
    if "httpMethod" in event:
        return samples._realistic(event, tokens, stack)
    return event


def _function_environment(stack: Any) -> dict[str, str]:
    """What a deployed function's environment holds, pointed at this stack's servers."""
    from local.moto_server import FAKE_CREDENTIALS

    return {
        **stack.runtime.environment,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": stack.moto.endpoint,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def measure_first_invocations(twin: Any, stack: Any, tokens: dict) -> dict[str, dict[str, float]]:
    """module -> medians of {import, invoke, total, wall} ms and how many runs answered 2xx/no failures."""
    from infra.lambda_twin import layers_for

    environment = _function_environment(stack)
    samples: dict[str, list[dict]] = {module: [] for module, _ in handler_modules()}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(INVOKE_RUNS):
            for module in samples:
                handler = _handler_of(module)
                event_path = Path(scratch, f"{run}-{module}.json")
                event_path.write_text(json.dumps(_sample_event(handler, stack, tokens)))
                prelude = f"EVENT_PATH = {str(event_path)!r}; MODULE = {module!r}; ATTRIBUTE = {handler.rsplit('.', 1)[1]!r}\n"
                result = twin.run(prelude + _INVOKE, layers_for(handler), env=environment)
                if result.returncode != 0:
                    raise RuntimeError(f"the first invocation of {handler} failed:\n{result.stderr[-3000:]}")
                samples[module].append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {
        module: {
            **{key: statistics.median(run[key] for run in runs) for key in ("import", "invoke", "total", "wall")},
            "ok": sum(bool(run["ok"]) for run in runs),
        }
        for module, runs in samples.items()
    }


def _boto3_ms(twin: Any) -> float:
    return statistics.median(_import_ms(twin, "import boto3", "boto3") for _ in range(RUNS))


def report() -> str:
    from bench.stack import shared_stack
    from local.seed import DEMO_USERS, sign_in

    twin = _twin()
    kinds = dict(handler_modules())
    rows = measure_imports(twin)
    over = [name for name, _, ratio in rows[1:] if ratio > TARGET_RATIO]
    lines = [
        f"## Cold-start import time, from the built layers and asset (Python 3.12, median of {RUNS}, interleaved)", "",
        f"Every handler module the stack deploys ({len(rows) - 1}), imported in a fresh Python 3.12 interpreter that",
        "sees only the function's code asset, its layers (built from the lock files, with their bytecode) and the",
        "runtime's boto3 (infra/lambda_twin.py): no venv. Against `import boto3` in the same interpreter (what the",
        "Lambda runtime provides, and a handler that makes any AWS call pays anyway). CPU ms (time.process_time).", "",
        "| module | runs as | import CPU ms | vs `import boto3` |", "|---|---|---:|---:|",
    ]  # fmt: skip
    for name, ms, ratio in rows:
        lines.append(f"| `{name}` | {kinds.get(name, 'baseline')} | {ms:.0f} | {ratio:.2f}x |")
    slowest = max(rows[1:], key=lambda row: row[2])
    lines += ["", f"Slowest: `{slowest[0]}` at {slowest[2]:.2f}x `import boto3`; over {TARGET_RATIO}x: "
              + (", ".join(f"`{name}`" for name in over) if over else "none") + "."]  # fmt: skip
    print("\n".join(lines), "\n(now the first invocations)", flush=True)  # kept in the log if (b) fails

    stack = shared_stack()
    tokens = {role: sign_in(stack, email, stack.demo_password) for email, role in DEMO_USERS}
    first = measure_first_invocations(twin, stack, tokens)
    baseline = _boto3_ms(twin)
    lines += [
        "", f"## Cold start: import + first invocation, from the built layers and asset (median of {INVOKE_RUNS})", "",
        "Each handler in a fresh interpreter of the Lambda twin: import, then one call with its sample event from",
        "events/ (real data of the local stack in place of the placeholders), against the local stack's moto,",
        "OpenSearch and cache servers. CPU ms of the function's own process; `wall` adds the servers' time.",
        f"Baseline: `import boto3` {baseline:.0f} CPU ms, measured in the same run. The saga's module is invoked as",
        f"`{SAGA_STEP.rsplit('.', 1)[1]}` of an order already validated (a retried step).", "",
        "| module | runs as | import ms | first invocation ms | import + first ms | vs `import boto3` | wall ms | 2xx / no failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for module, kind in handler_modules():
        m = first[module]
        lines.append(
            f"| `{module}` | {kind} | {m['import']:.0f} | {m['invoke']:.0f} | {m['total']:.0f} | "
            f"{m['total'] / baseline:.2f}x | {m['wall']:.0f} | {m['ok']}/{INVOKE_RUNS} |"
        )
    heaviest = max(first.items(), key=lambda item: item[1]["total"])
    lines += ["", f"Heaviest cold start: `{heaviest[0]}`, {heaviest[1]['total']:.0f} CPU ms "
              f"({heaviest[1]['total'] / baseline:.2f}x `import boto3`)."]  # fmt: skip
    return "\n".join(lines)
