"""local.lambda_runtime: a function's first invocation runs alone, then calls run concurrently,
each on an instance of its own."""

from __future__ import annotations

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
