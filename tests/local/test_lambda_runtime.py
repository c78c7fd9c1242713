"""local.lambda_runtime: a function's first invocation runs alone, then calls run concurrently,
each on an instance of its own."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from local.cfn import FunctionSpec
from local.lambda_runtime import LambdaRuntime
from tests.fixtures import lazy_builders_state as state


def _runtime() -> LambdaRuntime:
    spec = FunctionSpec("LazyBuilder", "tests.fixtures.lazy_builders.handler", {}, 30, 128)
    return LambdaRuntime({spec.logical_id: spec})


def test_concurrent_first_calls_never_build_at_the_same_time_and_later_calls_overlap() -> None:
    state.reset()
    runtime = _runtime()
    # WHEN 8 calls arrive at once at a function that was never called
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: runtime.invoke("LazyBuilder", {}), range(8)))
    # THEN all succeed, and the lazy build ran with one call inside it at a time
    assert answers == [{"ok": True}] * 8
    assert state.MOST_INSIDE == 1
    # AND once warm, calls overlap again, each on an instance of its own
    state.MOST_WORKING = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: runtime.invoke("LazyBuilder", {"work_seconds": 0.3}), range(4)))
    assert state.MOST_WORKING >= 2
    assert runtime.instance_count("LazyBuilder") >= state.MOST_WORKING


def test_each_function_logs_as_its_own_service_and_the_service_stays_out_of_the_shared_environment(monkeypatch) -> None:
    # GIVEN two functions whose templates give each its own service (infra/functions.py) and a shared variable
    for variable in ("POWERTOOLS_SERVICE_NAME", "SHARED_KNOB"):  # set, then removed: restored as they were afterwards
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)
    specs = [FunctionSpec(name, "tests.fixtures.service_echo.handler", {"POWERTOOLS_SERVICE_NAME": service, "SHARED_KNOB": "1"}, 30, 128)
             for name, service in (("CatalogEcho", "catalog"), ("OrdersEcho", "orders"))]
    runtime = LambdaRuntime({spec.logical_id: spec for spec in specs})
    # WHEN the one process environment is applied
    runtime.apply_environment()
    # THEN the differing service is not an error, and is not in it; the shared variable is
    assert "POWERTOOLS_SERVICE_NAME" not in os.environ and os.environ["SHARED_KNOB"] == "1"
    # AND each invocation, even on threads that served the other function, logs as its own service
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda i: runtime.invoke(("CatalogEcho", "OrdersEcho")[i % 2], {})["service"], range(16)))
    assert answers == ["catalog", "orders"] * 8
