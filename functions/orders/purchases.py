"""Who bought what: the orders service's answer to other services (catalog reviews ask it).

Other services call this module, never the orders table (docs/decisions/0003-table-design.md:
cross-service reads go through the owning service's module).
"""

from __future__ import annotations


def has_confirmed_purchase(user_id: str, product_id: str) -> bool:
    """True if `user_id` has an order containing `product_id` that reached CONFIRMED (or later:
    SHIPPED, DELIVERED), i.e. a paid order; a cancelled or failed order does not count.

    Not implemented yet: there are no orders until the checkout issue lands, so nobody has
    bought anything and this answers False, which makes every POST .../reviews a 403. The
    checkout issue completes it (a lookup in the orders table, e.g. a per-user purchase claim
    `pk=USER#<user_id> sk=PURCHASED#<product_id>` written when an order is confirmed) and gives
    the create_review route read access to that table in infra/topology.py. Tests monkeypatch
    this function; callers must look it up at call time (`purchases.has_confirmed_purchase`).
    """
    del user_id, product_id  # no orders exist yet
    return False
