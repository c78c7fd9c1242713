"""Every deployed handler logs with its Lambda context (function name, request id, cold start)."""

from __future__ import annotations

import ast
import importlib
import inspect

from infra.handlers import deployed_handlers


def _decorators(handler_path: str) -> list[str]:
    module_name, _, name = handler_path.rpartition(".")
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name)
    return [ast.unparse(decorator) for decorator in function.decorator_list]


def test_every_deployed_handler_injects_the_lambda_context_into_its_logs():
    # GIVEN every Python handler the template deploys
    handlers = deployed_handlers()
    assert {kind for _, kind in handlers} == {"route", "stream", "schedule", "queue", "saga step"}
    # THEN each is wrapped by Logger.inject_lambda_context, so its log lines say which function and
    # invocation wrote them (in Lambda they would have none; locally another thread's)
    missing = [path for path, _ in handlers if not any("inject_lambda_context" in d for d in _decorators(path))]
    assert missing == []
