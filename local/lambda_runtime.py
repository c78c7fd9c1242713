"""Run a template's Lambda handlers in this process, the way the Lambda runtime would.

Every local entry point (the HTTP gateway, the stream poller, Step Functions tasks, schedules)
calls handlers through `LambdaRuntime.invoke`, so they all get the same context object,
environment and error envelope.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.cfn import ACCOUNT_ID, REGION, FunctionSpec
from local.network import FunctionTimedOut, VpcRoutes, current, in_vpc, outside_vpc

# Variables each function has a value of its own (infra/functions.py: POWERTOOLS_SERVICE_NAME is
# the function's service). One process environment cannot hold them: they stay out of it, and an
# invocation's log lines carry its own function's service instead (`_log_as`).
PER_FUNCTION_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME"})


@dataclass
class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers (and powertools) use."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaTimeout(Exception):  # noqa: N818 - Lambda's own words
    """The invocation ran out of time ("Task timed out after N seconds"): the runtime stopped it."""


class _FunctionInstances:
    """Warm "execution environments" of one function: each serves one invocation at a time.

    Lambda runs concurrent requests in separate instances, each with its own copy of the
    handler module's globals (powertools' resolver keeps the current event there). Serving
    two threads from one module copy would mix their requests, so each instance loads its own
    copy of the handler module (the modules it imports are shared, as a layer's code is).
    """

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.idle: queue.SimpleQueue[Callable[[Any, Any], Any]] = queue.SimpleQueue()
        self.created = 0
        self._lock = threading.Lock()
        # The function's first invocation runs alone: it is where handlers build what they build
        # lazily (pydantic's TypeAdapters for powertools' validation, clients) in modules that
        # every instance shares here, and pydantic's lazy build is not thread-safe (concurrent
        # first calls answered 500 "not fully defined"). On Lambda each instance is its own
        # process, so this only makes the local runtime as safe; calls after it run concurrently.
        self.first_call = threading.Lock()
        self.warm = False

    def _load(self) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = self.spec.handler.rpartition(".")
        with self._lock:
            self.created += 1
            first = self.created == 1
        if first:
            module = importlib.import_module(module_name)
        else:
            spec = importlib.util.find_spec(module_name)
            assert spec is not None and spec.loader is not None, module_name
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        return getattr(module, attribute)

    def acquire(self) -> Callable[[Any, Any], Any]:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            return self._load()

    def release(self, handler: Callable[[Any, Any], Any]) -> None:
        self.idle.put(handler)


class LambdaRuntime:
    """Looks handlers up by function name and invokes them in-process."""

    def __init__(self, functions: dict[str, FunctionSpec]) -> None:
        from local.powertools_isolation import isolate_powertools_requests

        isolate_powertools_requests()
        self.functions = dict(functions)
        self._instances: dict[str, _FunctionInstances] = {}
        self._lock = threading.Lock()
        self.environment: dict[str, str] = {}
        # The template's VPC routes (local/network.py): set by the local stack, None enforces nothing.
        self.network: VpcRoutes | None = None
        for spec in self.functions.values():
            self.environment.update(spec.environment)

    def apply_environment(self, overrides: dict[str, str] | None = None) -> None:
        """All in-process functions share one process environment, so a variable must have one
        value across the template's functions; `overrides` (local endpoints, knobs) win."""
        merged: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                if key in PER_FUNCTION_VARIABLES:
                    continue
                other = merged.setdefault(key, value)
                if other != value:
                    raise RuntimeError(f"env var {key} differs between functions ({other!r} vs {value!r})")
        self.environment = {**merged, **(overrides or {})}
        os.environ.update(self.environment)

    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.logical_id] = spec
        self._instances.pop(spec.logical_id, None)

    def _instances_of(self, function_name: str) -> _FunctionInstances:
        instances = self._instances.get(function_name)
        if instances is None:
            with self._lock:
                instances = self._instances.setdefault(function_name, _FunctionInstances(self.functions[function_name]))
        return instances

    def instance_count(self, function_name: str) -> int:
        return self._instances_of(function_name).created

    def invoke(self, function_name: str, event: Any, request_id: str | None = None) -> Any:
        """Call the handler on an idle instance; exceptions propagate (callers decide what an error means)."""
        if function_name not in self.functions:
            raise KeyError(f"no function {function_name!r} in the template")
        spec = self.functions[function_name]
        context = LambdaContext(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
            aws_request_id=request_id or str(uuid.uuid4()),
        )
        instances = self._instances_of(function_name)
        if not instances.warm:
            with instances.first_call:
                if not instances.warm:
                    try:
                        return self._call(instances, event, context)
                    finally:
                        instances.warm = True
        return self._call(instances, event, context)

    def _call(self, instances: _FunctionInstances, event: Any, context: LambdaContext) -> Any:
        handler = instances.acquire()
        _log_as(instances.spec.environment.get("POWERTOOLS_SERVICE_NAME"))
        try:
            with self._network_of(instances.spec):
                return handler(event, context)
        except FunctionTimedOut as exc:
            # What Lambda reports when it stops a function at its timeout (here: at once, the
            # wait being certain); callers see a failed invocation, as they would on AWS.
            import logging

            logging.getLogger("local.lambda").error("%s %s", context.aws_request_id, exc)
            raise LambdaTimeout(str(exc)) from None
        finally:
            instances.release(handler)

    def _network_of(self, spec: FunctionSpec) -> Any:
        """The function's network while its handler runs: the VPC's routes when the template puts
        it in the VPC, none of a calling VPC function's limits otherwise."""
        if self.network is not None and spec.in_vpc:
            return in_vpc(spec.logical_id, self.network, spec.timeout)
        if current() is not None:
            return outside_vpc()
        return contextlib.nullcontext()


def _log_as(service: str | None) -> None:
    """This thread's log lines name `service` (the invoked function's), as its own Lambda process
    would: the handlers' shared Logger keeps its keys per thread here (local/powertools_isolation.py)."""
    if not service:
        return
    from shared.observability import logger

    logger.append_keys(service=service)


def error_envelope(exc: BaseException) -> dict[str, Any]:
    """The Lambda runtime's error payload for an unhandled exception."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }
