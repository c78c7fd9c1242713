"""The orders' JSON shapes (../shared/api-contract.md "Orders and checkout")."""

from __future__ import annotations

from typing import Any

from functions.orders.model import Order
from shared.http import public_url


def payment_view(order: Order, event: dict[str, Any]) -> dict[str, Any] | None:
    payment = order.payment
    if not payment.get("payment_id"):
        return None
    url = payment.get("payment_url") or (public_url(event, payment["payment_path"]) if payment.get("payment_path") else None)
    return {"payment_id": payment["payment_id"], "status": payment.get("status"), "provider": payment.get("provider"), "payment_url": url}


def order_view(order: Order, event: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "order_id": order.order_id,
        "status": order.status,
        "items": [line.as_dict() for line in order.items],
        "total": order.total,
        "currency": order.currency,
        "shipping_address": order.shipping_address,
        "payment": payment_view(order, event),
        "payment_deadline": order.payment_deadline,
        "history": order.history,
        "shipments": shipments_view(order),
        "reason": order.reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if order.failure:
        view["failure"] = order.failure
    return view


def seller_order_view(part: dict[str, Any], order: Order) -> dict[str, Any]:
    """A seller's view: only the seller's own lines, and the buyer's shipping address."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "items": part.get("items", []),
        "subtotal": part.get("subtotal", 0),
        "currency": part.get("currency"),
        "shipping_address": order.shipping_address,
        "shipment": part.get("shipment"),  # {carrier, tracking_number, shipped_at, delivered_at}
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
