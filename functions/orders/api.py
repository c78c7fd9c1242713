"""What the orders service offers other services: who bought what (reviews ask it).

The only module of functions/orders/ another service may import (.importlinter).
"""

from __future__ import annotations

from functions.orders.purchases import confirmed_purchase, purchase_check, withdrawn_purchase

__all__ = ["confirmed_purchase", "purchase_check", "withdrawn_purchase"]
