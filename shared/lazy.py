"""A module imported on first attribute access, for the heavy ones a handler module needs only once it runs.

Why: the pynamodb item models pull in pynamodb.connection and with it most of botocore (about 1x
`import boto3` of CPU). The handlers make their boto3 clients on first use (shared/aws.py); the
logic modules that hold item models reach them through `lazy_module` so importing a handler costs
the same whichever of the two the data-access code uses. The first call pays it, as it pays for boto3.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for a module until an attribute is read, then imports it once and delegates."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module else ''}>"


def lazy_module(name: str) -> Any:
    """`models = lazy_module("functions.catalog.store")`, then `models.ProductItem` where it is used."""
    return LazyModule(name)
