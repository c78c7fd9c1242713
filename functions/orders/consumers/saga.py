"""The checkout saga's Lambda handlers: one per Step Functions task (infra/checkout.py), each
running its step of functions/orders/saga.py (where the steps and their decisions are) with the
real ports."""

from __future__ import annotations

from typing import Any

from functions.orders import saga
from functions.orders.saga import BUSINESS_OUTCOMES, REASONS, CheckoutRejected, OrderNotPayable
from shared.observability import logger

__all__ = ["BUSINESS_OUTCOMES", "REASONS", "CheckoutRejected", "OrderNotPayable"]


# -- forward steps ------------------------------------------------------------------------------


@logger.inject_lambda_context
def validate_cart(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.validate_cart(event)


@logger.inject_lambda_context
def reserve_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.reserve_stock(event)


@logger.inject_lambda_context
def create_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.create_order(event)


@logger.inject_lambda_context
def create_payment_intent(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.create_payment_intent(event)


@logger.inject_lambda_context
def await_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.await_payment(event)


@logger.inject_lambda_context
def confirm_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.confirm_order(event)


@logger.inject_lambda_context
def commit_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.commit_stock(event)


@logger.inject_lambda_context
def clear_cart(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.clear_cart(event)


# -- compensation -------------------------------------------------------------------------------


@logger.inject_lambda_context
def cancel_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.cancel_order(event)


@logger.inject_lambda_context
def release_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.release_stock(event)


@logger.inject_lambda_context
def refund_if_captured(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return saga.refund_if_captured(event)
