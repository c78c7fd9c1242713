"""Starting a checkout: one order and one saga execution per idempotency key, ever.

The key's claim and the PROCESSING order are one transaction; the execution's name is derived
from (user, key), so even a retry that takes over a dead first attempt cannot start a second
execution (Step Functions answers ExecutionAlreadyExists, which means "already running").
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from functools import lru_cache
from typing import Any

from functions.orders import store
from functions.orders.domain import FAILED, PENDING_PAYMENT, Order
from shared.tables import error_code

WAIT_FOR_PAYMENT_SECONDS = 5.0  # how long POST /orders waits for the payment page before a 202 (usually < 0.5 s)
# Errors that mean "this task token is spent or gone": the saga already moved on.
SPENT_TOKEN = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist", "ExecutionDoesNotExist"})


@lru_cache(maxsize=1)
def step_functions() -> Any:
    import boto3

    from shared.aws import config

    return boto3.client("stepfunctions", config=config("stepfunctions"))


def execution_name(user_id: str, key: str, order_id: str) -> str:
    """From the user's key and the order its claim made: every retry of the key names the same
    execution; the same key reused after its 24 hours (a new claim, a new order) a new one
    (Step Functions remembers execution names for 90 days)."""
    return "checkout-" + hashlib.sha256(f"{user_id}\n{key}\n{order_id}".encode()).hexdigest()[:64]


def start(order_id: str, user_id: str, key: str) -> None:
    window = int(os.environ.get("PAYMENT_WINDOW_SECONDS", "900"))
    try:
        step_functions().start_execution(
            stateMachineArn=os.environ["CHECKOUT_STATE_MACHINE_ARN"],
            name=execution_name(user_id, key, order_id),
            input=json.dumps({"order_id": order_id, "payment_window_seconds": window}),
        )
    except Exception as exc:  # noqa: BLE001 - classified below
        if error_code(exc) != "ExecutionAlreadyExists":
            raise


def wait_until_payable(order_id: str, timeout: float = WAIT_FOR_PAYMENT_SECONDS) -> Order:
    """The order once it has a payment page (or failed), or as it is when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        order = store.require(order_id)
        ready = order.status == PENDING_PAYMENT and order.payment.get("payment_id")
        if ready or order.status == FAILED or order.status not in ("PROCESSING", PENDING_PAYMENT) or time.monotonic() >= deadline:
            return order
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)
