"""The one low-level DynamoDB connection every store uses (ADR 0042's store idiom), and its errors.

pynamodb is used for its `Connection` only (a botocore client with DynamoDB's timeout budget and
pynamodb's error wrapping): no store defines a pynamodb Model (ADR 0048). Stores read their
table's name from the environment when used, not at import.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.connection import Connection


@lru_cache(maxsize=1)
def connection() -> Connection:
    """One low-level connection per execution environment (every store's DynamoDB calls):
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
