"""The one translation from an orders stream record to a domain event (or None).

Only the order header item (`sk = ORDER`) speaks for an order, and only when its status is new:
an INSERT with a status, or a MODIFY whose status differs from the old image's. A MODIFY that
keeps the status (a payment reference, an address fix) tells nobody anything. Of the new
statuses, those a buyer or seller hears about become events; the rest (PROCESSING,
PENDING_PAYMENT, DELIVERED for now) are None.

`event_id` is `<order_id>:<version>`: the order's version moves on every write, so one status
change has one id however often the stream or EventBridge delivers it, and the notification
sender deduplicates on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.attributes import from_attrs

SOURCE = "shop.orders"
ORDER_SK = "ORDER"
# Status -> detail type of the events published for it.
DETAIL_TYPES = {
    "CONFIRMED": "order.confirmed",
    "CANCELLED": "order.cancelled",
    "FAILED": "order.failed",
    "SHIPPED": "order.shipped",
}
SHIPMENT_FIELDS = ("carrier", "tracking_number", "shipped_at", "delivered_at")
ITEM_FIELDS = ("sku_id", "product_id", "seller_id", "title", "options", "quantity", "unit_price", "currency")


def from_stream_record(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """`{"source", "detail_type", "detail"}` for a Lambda-shaped orders stream record, or None.

    A header record without `order_id` or `version` raises: it cannot be given an id, and
    failing it loudly (then parking it) beats publishing an event nobody can deduplicate.
    """
    event_name = record.get("eventName")
    if event_name not in ("INSERT", "MODIFY"):
        return None
    ddb = record.get("dynamodb") or {}
    if from_attrs(ddb.get("Keys") or {}).get("sk") != ORDER_SK:
        return None
    new = from_attrs(ddb.get("NewImage") or {})
    previous = from_attrs(ddb.get("OldImage") or {}).get("status") if event_name == "MODIFY" else None
    status = new.get("status")
    if not status or status == previous or status not in DETAIL_TYPES:
        return None
    order_id = new["order_id"]
    entry = _history_entry(new, status)
    return {
        "source": SOURCE,
        "detail_type": DETAIL_TYPES[status],
        "detail": {
            "event_id": f"{order_id}:{new['version']}",
            "order_id": order_id,
            "user_id": new.get("user_id"),
            "status": status,
            "previous_status": previous,
            "reason": new.get("reason") or entry.get("reason"),
            "at": entry.get("at") or new.get("updated_at") or new.get("created_at"),
            "total": new.get("total"),
            "currency": new.get("currency"),
            "items": [{name: item.get(name) for name in ITEM_FIELDS} for item in new.get("items") or []],
            "seller_ids": list(new.get("seller_ids") or []),
            # seller -> {carrier, tracking_number, shipped_at, delivered_at}: the shipped notice's tracking
            "shipments": {seller: {name: shipment.get(name) for name in SHIPMENT_FIELDS}
                          for seller, shipment in (new.get("shipments") or {}).items()},
        },
    }


def _history_entry(order: Mapping[str, Any], status: str) -> Mapping[str, Any]:
    """The history entry that recorded `status` (the newest, should a status ever recur)."""
    for entry in reversed(order.get("history") or []):
        if entry.get("status") == status:
            return entry
    return {}
