"""One local stack for every benchmark of a `make bench` run: starting one takes ~45 s, and the
benchmarks only compare things measured side by side inside one stack."""

from __future__ import annotations

from typing import Any

_stack: Any = None


def shared_stack() -> Any:
    global _stack
    if _stack is None:
        import logging

        from local.stack import LocalStack

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _stack = LocalStack(port=0, seed=True).start()
    return _stack


def stop_shared_stack() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None
