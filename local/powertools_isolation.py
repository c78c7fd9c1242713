"""Give each thread its own powertools "current event", as each Lambda instance has its own process.

powertools' event handler stores the request being resolved on a CLASS attribute
(`BaseRouter.current_event = ...`), which is right in Lambda (one request per process at a
time) but mixes requests when the local runtime serves concurrent invocations from threads of
one process: a response could carry another request's body. This patch keeps the attribute's
value per thread. It changes nothing for a single-threaded caller, and never runs in Lambda.
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


def isolate_powertools_requests() -> None:
    global _applied
    if _applied:
        return
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    for name in _ATTRIBUTES:
        # Instance reads (self.current_event) find this property in the class dict.
        type.__setattr__(BaseRouter, name, _thread_local_property(name))
    BaseRouter.__class__ = _ThreadLocalRouterMeta
    _applied = True
