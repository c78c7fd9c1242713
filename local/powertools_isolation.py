"""Give each thread its own powertools state, as each Lambda instance has its own process.

Two pieces of powertools state are per process, which is right in Lambda (one request per
process at a time) but mixes invocations when the local runtime serves them from threads of one
process:

- the event handler stores the request being resolved on a CLASS attribute
  (`BaseRouter.current_event = ...`): a response could carry another request's body;
- every Logger of a service shares one formatter, whose `log_format` dict holds the keys that
  `inject_lambda_context` appends (function_name, request id, correlation_id): a stream
  consumer's log line could name the API function that logged just before it on another thread.

These patches keep both per thread. They change nothing for a single-threaded caller, and never
run in Lambda.
"""

from __future__ import annotations

import threading
from abc import ABCMeta
from typing import Any

_state = threading.local()
_applied = False
_ATTRIBUTES = ("current_event", "lambda_context")


def _thread_local_property(name: str) -> property:
    def get(_: Any) -> Any:
        try:
            return getattr(_state, name)
        except AttributeError:
            raise AttributeError(name) from None

    def set_(_: Any, value: Any) -> None:
        setattr(_state, name, value)

    return property(get, set_)


class _ThreadLocalRouterMeta(ABCMeta):
    # Class-level assignments (BaseRouter.current_event = x) land on these data descriptors.
    current_event = _thread_local_property("current_event")
    lambda_context = _thread_local_property("lambda_context")


def _isolate_log_keys() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    def formats() -> dict[int, dict[str, Any]]:
        return _state.__dict__.setdefault("log_formats", {})

    def get(formatter: Any) -> dict[str, Any]:
        mine = formats().get(id(formatter))
        if mine is None:
            # A thread's first log line starts from the keys the formatter was built with (service,
            # sampling rate...), as a new Lambda instance would, not from another thread's invocation.
            start = formatter.__dict__.get("_log_format_at_start", formatter.__dict__.get("log_format", {}))
            mine = formats()[id(formatter)] = dict(start)
        return mine

    def set_(formatter: Any, value: dict[str, Any]) -> None:
        formats()[id(formatter)] = value

    original_init = LambdaPowertoolsFormatter.__init__

    def __init__(formatter: Any, *args: Any, **kwargs: Any) -> None:
        original_init(formatter, *args, **kwargs)
        formatter.__dict__["_log_format_at_start"] = dict(get(formatter))

    LambdaPowertoolsFormatter.__init__ = __init__  # type: ignore[method-assign]
    LambdaPowertoolsFormatter.log_format = property(get, set_)  # type: ignore[attr-defined]


def isolate_powertools_requests() -> None:
    global _applied
    if _applied:
        return
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    for name in _ATTRIBUTES:
        # Instance reads (self.current_event) find this property in the class dict.
        type.__setattr__(BaseRouter, name, _thread_local_property(name))
    BaseRouter.__class__ = _ThreadLocalRouterMeta
    _isolate_log_keys()
    _applied = True
