"""The orders' JSON shapes (docs/openapi.json, the orders operations)."""

from __future__ import annotations

from typing import Any

from functions.orders.domain import PENDING_PAYMENT, Order
from functions.payments import api as payments

_UNREAD: Any = object()


def payments_of(orders: list[Order]) -> dict[str, Any]:
    """{payment_id: payment} of these orders, read from the payments service in one batch."""
    return payments.get_payments([order.payment["payment_id"] for order in orders if order.payment.get("payment_id")])


def payment_of(order: Order, payment: Any = _UNREAD) -> Any:
    """The order's payment (read now unless given), or None."""
    payment_id = order.payment.get("payment_id")
    if not payment_id:
        return None
    return payments.get_payment(payment_id) if payment is _UNREAD else payment


def payment_view(order: Order, payment: Any = _UNREAD) -> dict[str, Any] | None:
    """The order's payment as the payment record says it is (ADR 0017: one source of truth; the
    order keeps only which payment it is). The link only while the order can still be paid."""
    payment_id = order.payment.get("payment_id")
    if not payment_id:
        return None
    payment = payment_of(order, payment)
    if payment is None:
        return {"payment_id": payment_id, "status": None, "provider": order.payment.get("provider"), "payment_url": None}
    return {
        "payment_id": payment_id, "status": payment.status, "provider": payment.provider,
        "payment_url": payments.payment_link(payment) if order.status == PENDING_PAYMENT else None,
        "amount": payment.amount, "refunded_total": payment.refunded_total,
    }


def order_view(order: Order, event: dict[str, Any] | None = None, payment: Any = _UNREAD) -> dict[str, Any]:
    """The buyer's view. Its refunds are the payment's (ADR 0017: the payment owns the money): the
    refunds made on it (by the provider or through the API), as soon as they are recorded there."""
    payment = payment_of(order, payment)
    view: dict[str, Any] = {
        "order_id": order.order_id,
        "status": order.status,
        "items": [line.as_dict() for line in order.items],
        "total": order.total,
        "currency": order.currency,
        "shipping_address": order.shipping_address,
        "payment": payment_view(order, payment),
        "payment_deadline": order.payment_deadline,
        "history": order.history,
        "shipments": shipments_view(order),
        "reason": order.reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if order.failure:
        view["failure"] = order.failure
    if payment is not None and payment.refunds:
        view["refunded_total"], view["refunds"] = payment.refunded_total, payment.refunds
    return view


def seller_order_view(part: dict[str, Any], order: Order) -> dict[str, Any]:
    """A seller's view: only the seller's own lines, and the buyer's shipping address.

    `part` may come from the seller index, up to a GSI's lag old (ADR 0032): only what never
    changes after checkout is taken from it (lines, subtotal, currency). The shipment changes
    with ship and deliver, so it is the header's copy, written in the same transaction as the
    part's and read consistently."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "items": part.get("items", []),
        "subtotal": part.get("subtotal", 0),
        "currency": part.get("currency"),
        "shipping_address": order.shipping_address,
        "shipment": order.shipments.get(part.get("seller_id", "")),  # {carrier, tracking_number, shipped_at, delivered_at}
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def shipments_view(order: Order) -> list[dict[str, Any]]:
    """The buyer's view of fulfilment: one entry per seller of the order, with that seller's SKUs,
    the carrier and tracking number once shipped, and when it shipped and arrived."""
    views = []
    for seller_id in order.seller_ids:
        shipment = order.shipments.get(seller_id) or {}
        status = "DELIVERED" if shipment.get("delivered_at") else "SHIPPED" if shipment.get("shipped_at") else "NOT_SHIPPED"
        views.append({
            "seller_id": seller_id,
            "status": status,
            "sku_ids": [line.sku_id for line in order.items if line.seller_id == seller_id],
            "carrier": shipment.get("carrier"),
            "tracking_number": shipment.get("tracking_number"),
            "shipped_at": shipment.get("shipped_at"),
            "delivered_at": shipment.get("delivered_at"),
        })
    return views
