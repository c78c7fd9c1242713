"""pynamodb `Meta` whose table name is read from the environment when used, not at import.

In Lambda the environment is set before any import, so this changes nothing there; it keeps
a module that was imported early (a test, a tool) pointing at the table its environment names
now. pynamodb rebuilds its connection whenever `Meta.table_name` changes.
"""

from __future__ import annotations

import os


class _TableNameFromEnvironment(type):
    @property
    def table_name(cls) -> str:
        return os.environ.get(cls.table_env_var, cls.table_default)  # type: ignore[attr-defined]

    @property
    def region(cls) -> str:
        return os.environ.get("AWS_REGION", "us-east-1")


def table_meta(env_var: str, default: str) -> type:
    """A base for a model's `class Meta(...)`: `table_meta("CATALOG_TABLE_NAME", "catalog")`."""
    return _TableNameFromEnvironment("TableMeta", (), {"table_env_var": env_var, "table_default": default})
