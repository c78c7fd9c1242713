"""pynamodb `Meta` whose table name is read from the environment when used, not at import.

In Lambda the environment is set before any import, so this changes nothing there; it keeps
a module that was imported early (a test, a tool) pointing at the table its environment names
now. pynamodb rebuilds its connection whenever `Meta.table_name` changes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.connection import Connection


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
        return _settings()["connect_timeout_seconds"]

    @property
    def read_timeout_seconds(cls) -> float:
        return _settings()["read_timeout_seconds"]

    @property
    def max_retry_attempts(cls) -> int:
        return int(_settings()["max_retry_attempts"])


def _settings() -> dict[str, float | int]:
    from shared.aws import pynamodb_settings

    return pynamodb_settings()


def table_meta(env_var: str, default: str) -> type:
    """A base for a model's `class Meta(...)`: `table_meta("CATALOG_TABLE_NAME", "catalog")`."""
    return _TableNameFromEnvironment("TableMeta", (), {"table_env_var": env_var, "table_default": default})


@lru_cache(maxsize=1)
def connection() -> Connection:
    """One low-level connection per execution environment (for transactions and batch calls):
    building a botocore client costs ~50 ms. With DynamoDB's timeout budget (shared/aws.py)."""
    from pynamodb.connection import Connection

    from shared.aws import pynamodb_settings

    return Connection(region=os.environ.get("AWS_REGION", "us-east-1"), **pynamodb_settings())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore or pynamodb exception ("" if it has none)."""
    code = getattr(exc, "cause_response_code", None)  # pynamodb wraps botocore's error
    if code:
        return str(code)
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def is_condition_failure(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"
