"""A pynamodb `Meta` whose table name is read from the environment when used, not at import: for
the old models the store compatibility tests define (tests/unit/test_store_compatibility.py,
tests/unit/test_catalog_store_compatibility.py). No store of the functions has a model any more
(ADR 0048); this was shared/tables.py's `table_meta`."""

from __future__ import annotations

import os

from shared.aws import pynamodb_settings


class _TableNameFromEnvironment(type):
    @property
    def table_name(cls) -> str:
        return os.environ.get(cls.table_env_var, cls.table_default)  # type: ignore[attr-defined]

    @property
    def region(cls) -> str:
        return os.environ.get("AWS_REGION", "us-east-1")

    # DynamoDB's timeout budget (shared/aws.py), read when pynamodb builds the connection.
    @property
    def connect_timeout_seconds(cls) -> float:
        return pynamodb_settings()["connect_timeout_seconds"]

    @property
    def read_timeout_seconds(cls) -> float:
        return pynamodb_settings()["read_timeout_seconds"]

    @property
    def max_retry_attempts(cls) -> int:
        return int(pynamodb_settings()["max_retry_attempts"])


def table_meta(env_var: str, default: str) -> type:
    """A base for a model's `class Meta(...)`: `table_meta("CATALOG_TABLE_NAME", "catalog")`."""
    return _TableNameFromEnvironment("TableMeta", (), {"table_env_var": env_var, "table_default": default})


