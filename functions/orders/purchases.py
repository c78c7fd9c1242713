"""Who bought what: the orders service's answer to other services (catalog reviews ask it).

Other services call this module, never the orders table (docs/decisions/0003-table-design.md:
cross-service reads go through the owning service's module).
"""

from __future__ import annotations


def has_confirmed_purchase(user_id: str, product_id: str) -> bool:
    """True if `user_id` has an order containing `product_id` that was paid (CONFIRMED, SHIPPED,
    DELIVERED) and not cancelled: one Query of the purchase claims written with the confirmation
    and deleted with a cancellation (functions/orders/model.py). Callers look this function up at
    call time (`purchases.has_confirmed_purchase`), so tests may replace it."""
    from functions.orders.store import has_purchase

    return has_purchase(user_id, product_id)
