"""Orders: statuses, the transitions allowed between them, and the order as code sees it.

Orders table (docs/decisions/0014-checkout-saga-design.md):
  header     pk=ORDER#<id>  sk=ORDER             order_id, user_id, cart_id, status, version, items,
             total, currency, seller_ids, hold_ids, payment, shipping_address, history, reason,
             shipped_sellers, delivered_sellers, shipments (seller -> its shipment, the buyer's copy),
             created_at, updated_at; gsi1 = USER#<user> / <created_at>#<id>
  seller     pk=ORDER#<id>  sk=SELLER#<seller>   the seller's lines and shipment; gsi2 = SELLER#<seller> /
             <created_at>#<id> (written when the order is confirmed: sellers never see unpaid orders)
  purchase   pk=USER#<user> sk=PURCHASE#<product>#<order>   "this user bought this product" while the
             order stands (reviews ask for it); written on confirmation, deleted on cancellation
  idempotency pk=IDEMPOTENCY#... (shared/idempotency.py)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROCESSING = "PROCESSING"
PENDING_PAYMENT = "PENDING_PAYMENT"
CONFIRMED = "CONFIRMED"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
REFUNDED = "REFUNDED"  # the provider refunded the whole payment (docs/decisions/0017-refund-model.md)

# The only moves an order can make; every status write is conditional on the "from" side, so a
# late or duplicate event can never move an order backwards.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PROCESSING: (PENDING_PAYMENT, FAILED),
    PENDING_PAYMENT: (CONFIRMED, CANCELLED),
    CONFIRMED: (SHIPPED, CANCELLED, REFUNDED),
    SHIPPED: (DELIVERED, REFUNDED),
    DELIVERED: (REFUNDED,),
    CANCELLED: (),
    FAILED: (),
    REFUNDED: (),
}
FINAL = (CANCELLED, FAILED, REFUNDED)
PAID = (CONFIRMED, SHIPPED, DELIVERED)  # what counts as a purchase


def sources_of(target: str) -> tuple[str, ...]:
    return tuple(status for status, targets in TRANSITIONS.items() if target in targets)


def order_key(order_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def seller_key(order_id: str, seller_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"SELLER#{seller_id}"}}


def purchase_key(user_id: str, product_id: str, order_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"PURCHASE#{product_id}#{order_id}"}}


@dataclass
class Line:
    sku_id: str
    product_id: str
    seller_id: str
    title: str
    options: dict[str, str]
    quantity: int
    unit_price: int
    currency: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku_id": self.sku_id, "product_id": self.product_id, "seller_id": self.seller_id, "title": self.title,
            "options": dict(self.options), "quantity": self.quantity, "unit_price": self.unit_price,
            "currency": self.currency, "line_total": self.quantity * self.unit_price,
        }


@dataclass
class Order:
    order_id: str
    user_id: str
    cart_id: str
    status: str
    version: int
    created_at: str
    updated_at: str
    items: list[Line] = field(default_factory=list)
    total: int = 0
    currency: str | None = None
    hold_ids: dict[str, str] = field(default_factory=dict)
    payment: dict[str, Any] = field(default_factory=dict)
    shipping_address: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    failure: dict[str, Any] = field(default_factory=dict)  # code, message, details of a FAILED checkout
    shipped_sellers: list[str] = field(default_factory=list)
    payment_deadline: str | None = None
    refunded_total: int = 0  # what the provider refunded so far (the payment's total, ADR 0017)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    # seller -> {carrier, tracking_number, shipped_at, delivered_at}; written with the seller's part
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivered_sellers: list[str] = field(default_factory=list)

    @property
    def seller_ids(self) -> list[str]:
        return sorted({line.seller_id for line in self.items})


def from_item(item: dict[str, Any]) -> Order:
    """An order from a plain (deserialized) header item."""
    return Order(
        order_id=item["order_id"],
        user_id=item["user_id"],
        cart_id=item.get("cart_id", ""),
        status=item["status"],
        version=int(item["version"]),
        created_at=item["created_at"],
        updated_at=item.get("updated_at", item["created_at"]),
        items=[
            Line(
                sku_id=line["sku_id"], product_id=line["product_id"], seller_id=line["seller_id"],
                title=line.get("title", ""), options=dict(line.get("options") or {}), quantity=int(line["quantity"]),
                unit_price=int(line["unit_price"]), currency=line["currency"],
            )
            for line in item.get("items") or []
        ],
        total=int(item.get("total", 0)),
        currency=item.get("currency"),
        hold_ids=dict(item.get("hold_ids") or {}),
        payment=dict(item.get("payment") or {}),
        shipping_address=dict(item.get("shipping_address") or {}),
        history=list(item.get("history") or []),
        reason=item.get("reason"),
        failure=dict(item.get("failure") or {}),
        shipped_sellers=list(item.get("shipped_sellers") or []),
        payment_deadline=item.get("payment_deadline"),
        refunded_total=int(item.get("refunded_total") or 0),
        refunds=list(item.get("refunds") or []),
        shipments={seller: dict(shipment) for seller, shipment in (item.get("shipments") or {}).items()},
        delivered_sellers=list(item.get("delivered_sellers") or []),
    )
