"""What the orders service offers other services: who bought what (reviews ask it).

The only module of functions/orders/ another service may import (.importlinter).

  confirmed_purchase    a standing paid order of the user containing the product (its id), or None
  purchase_check        a ConditionCheck that this purchase still stands, for the caller's transaction
  withdrawn_purchase    an orders stream record of a withdrawn purchase claim as (user, product, order)

Each looks functions/orders/purchases.py up at call time (as that module promises its callers),
so a test may replace the function there.
"""

from __future__ import annotations

from typing import Any

from functions.orders import purchases


def confirmed_purchase(user_id: str, product_id: str, other_than: str | None = None) -> str | None:
    return purchases.confirmed_purchase(user_id, product_id, other_than)


def purchase_check(user_id: str, product_id: str, order_id: str) -> dict[str, Any] | None:
    return purchases.purchase_check(user_id, product_id, order_id)


def withdrawn_purchase(record: dict[str, Any]) -> tuple[str, str, str] | None:
    return purchases.withdrawn_purchase(record)


__all__ = ["confirmed_purchase", "purchase_check", "withdrawn_purchase"]
