"""Who is told what about an order event: domain event -> notices (pure, no I/O).

  order.confirmed   the buyer's confirmation, and one new-order notice per seller with only that
                    seller's lines (a seller never sees what else the buyer bought)
  order.cancelled   the buyer's notice, with the reason
  order.failed      the buyer's notice, with the reason
  order.shipped     the buyer's notice, with each parcel's carrier and tracking number

Texts are short plain text: the order id, the lines, the amount. Each notice has a `kind`; with
the event id and the recipient it names the notice exactly once (functions/notifications/deliveries.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.money import format_amount

BUYER_CONFIRMATION = "order-confirmation"
SELLER_NEW_ORDER = "seller-new-order"
BUYER_CANCELLATION = "order-cancelled"
BUYER_FAILURE = "order-failed"
BUYER_SHIPMENT = "order-shipped"


@dataclass(frozen=True)
class Notice:
    kind: str
    recipient_id: str  # the user's id (Cognito sub); the address is looked up when it is sent
    subject: str
    body: str


def notices_for(detail_type: str, detail: Mapping[str, Any]) -> list[Notice]:
    """The notices an event calls for; [] for an event type nobody is told about."""
    compose = _COMPOSERS.get(detail_type)
    return compose(detail) if compose else []


def _confirmed(order: Mapping[str, Any]) -> list[Notice]:
    order_id, items = order["order_id"], order.get("items") or []
    buyer = Notice(
        BUYER_CONFIRMATION,
        order["user_id"],
        f"Your order {order_id} is confirmed",
        _text(
            "Thank you for your order. We have your payment and are preparing it.",
            f"Order: {order_id}",
            _lines(items, order["currency"]),
            f"Total: {format_amount(order['total'], order['currency'])}",
            "We will write again when it ships.",
        ),
    )
    sellers = []
    for seller_id in _seller_ids(order):
        own = [item for item in items if item.get("seller_id") == seller_id]
        subtotal = sum(item["unit_price"] * item["quantity"] for item in own)
        sellers.append(
            Notice(
                SELLER_NEW_ORDER,
                seller_id,
                f"New order {order_id}",
                _text(
                    "You have a new paid order to ship.",
                    f"Order: {order_id}",
                    _lines(own, order["currency"]),
                    f"Subtotal: {format_amount(subtotal, order['currency'])}",
                    "The shipping address is on the order in your seller orders.",
                ),
            )
        )
    return [buyer, *sellers]


# The saga's compensation refunds a captured payment (ADR 0014: CancelOrder -> RefundIfCaptured).
_REFUNDED = "If a payment was taken for it, it is refunded."


def _cancelled(order: Mapping[str, Any]) -> list[Notice]:
    return [_buyer_notice(order, BUYER_CANCELLATION, "was cancelled", _REFUNDED, with_reason=True)]


def _failed(order: Mapping[str, Any]) -> list[Notice]:
    return [_buyer_notice(order, BUYER_FAILURE, "could not be completed", _REFUNDED, with_reason=True)]


def _shipped(order: Mapping[str, Any]) -> list[Notice]:
    return [_buyer_notice(order, BUYER_SHIPMENT, "has shipped", _tracking(order) + "It is on its way to you.", with_reason=False)]


def _tracking(order: Mapping[str, Any]) -> str:
    """'Tracking: UPS 1Z999' per shipment (a multi-seller order comes in several parcels)."""
    shipments = order.get("shipments") or {}
    lines = [
        f"Tracking: {shipment.get('carrier') or 'carrier'} {shipment.get('tracking_number') or ''}".rstrip()
        for _, shipment in sorted(shipments.items())
        if shipment.get("tracking_number") or shipment.get("carrier")
    ]
    return "\n".join(lines) + "\n\n" if lines else ""


def _buyer_notice(order: Mapping[str, Any], kind: str, what: str, closing: str, *, with_reason: bool) -> Notice:
    order_id = order["order_id"]
    reason = f"Reason: {order['reason']}" if with_reason and order.get("reason") else ""
    return Notice(
        kind,
        order["user_id"],
        f"Your order {order_id} {what}",
        _text(
            f"Your order {order_id} {what}.",
            reason,
            _lines(order.get("items") or [], order["currency"]),
            f"Total: {format_amount(order['total'], order['currency'])}",
            closing,
        ),
    )


_COMPOSERS = {
    "order.confirmed": _confirmed,
    "order.cancelled": _cancelled,
    "order.failed": _failed,
    "order.shipped": _shipped,
}


def _seller_ids(order: Mapping[str, Any]) -> list[str]:
    """The order's sellers, in its own order; from the lines if the list is missing."""
    listed = order.get("seller_ids") or [item.get("seller_id") for item in order.get("items") or []]
    return list(dict.fromkeys(seller for seller in listed if seller))


def _lines(items: Sequence[Mapping[str, Any]], currency: str) -> str:
    """One line per item: '- 2 x Blue T-Shirt (size: M): 30.00 USD'."""
    lines = ["Items:"]
    for item in items:
        options = ", ".join(f"{name}: {value}" for name, value in sorted((item.get("options") or {}).items()))
        label = f"{item.get('title') or item.get('sku_id')}" + (f" ({options})" if options else "")
        amount = format_amount(item["unit_price"] * item["quantity"], item.get("currency") or currency)
        lines.append(f"- {item['quantity']} x {label}: {amount}")
    return "\n".join(lines)


def _text(*paragraphs: str) -> str:
    return "\n\n".join(p for p in paragraphs if p) + "\n"
