"""Who bought what: the orders service's answer to other services (catalog reviews ask it).

Other services call this module, never the orders table (docs/decisions/0003-table-design.md:
cross-service reads go through the owning service's module).
"""

from __future__ import annotations

from typing import Any


def has_confirmed_purchase(user_id: str, product_id: str) -> bool:
    """True if `user_id` has an order containing `product_id` that was paid (CONFIRMED, SHIPPED,
    DELIVERED) and not cancelled: one Query of the purchase claims written with the confirmation
    and deleted with a cancellation (functions/orders/domain.py). Callers look this function up at
    call time (`purchases.has_confirmed_purchase`), so tests may replace it."""
    from functions.orders.store import has_purchase

    return has_purchase(user_id, product_id)


def confirmed_purchase(user_id: str, product_id: str, other_than: str | None = None) -> str | None:
    """The id of a standing paid order of `user_id` containing `product_id` (one other than
    `other_than`, if given), or None. Looked up at call time, like has_confirmed_purchase."""
    from functions.orders.store import purchase_orders

    return next((order_id for order_id in purchase_orders(user_id, product_id) if order_id != other_than), None)


def purchase_check(user_id: str, product_id: str, order_id: str) -> dict[str, Any] | None:
    """A TransactItems ConditionCheck that this purchase still stands, for a write that rests on it
    (a review): written in the same transaction, a purchase withdrawn meanwhile cancels the write."""
    from functions.orders.domain import purchase_key
    from functions.orders.store import table

    return {"ConditionCheck": {
        "TableName": table(), "Key": purchase_key(user_id, product_id, order_id), "ConditionExpression": "attribute_exists(pk)",
    }}


def withdrawn_purchase(record: dict[str, Any]) -> tuple[str, str, str] | None:
    """(user_id, product_id, order_id) of an orders stream REMOVE record of a purchase claim (the
    order was cancelled or refunded), or None for any other record."""
    if record.get("eventName") != "REMOVE":
        return None
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    if not pk.startswith("USER#") or not sk.startswith("PURCHASE#"):
        return None
    product_id, _, order_id = sk.removeprefix("PURCHASE#").rpartition("#")
    return pk.removeprefix("USER#"), product_id, order_id
