"""A cart's checkout claim: while an order holds the cart's stock, no other order can reserve it.

The claim item is the store's (store.py; docs/decisions/0019-one-checkout-per-cart.md). The
checkout saga's ReserveStock writes the claim IN the transaction that moves the cart's holds
to the order (inventory.api `hold_for_order(also=...)`), on the condition that no other live
order has it. Two orders racing on one cart: DynamoDB applies one transaction, the other is
cancelled whole (no hold moved, nothing reserved) and that checkout fails with
CART_ALREADY_CHECKED_OUT. The claim ends when its order no longer holds the cart's stock: the
cart is cleared after confirmation, or the order is settled (cancelled or failed); a claim whose
order was never settled lapses at its own expiry, when that order's holds have lapsed too.
"""

from __future__ import annotations

from typing import Any

from functions.cart import store


def claim_write(cart_id: str, order_id: str, expires_at: int) -> Any:
    """The transaction item that claims the cart for `order_id` (a retry by the same order passes;
    a claim of another order passes only once it has lapsed)."""
    return store.current().claim_write(cart_id, order_id, expires_at)


def holder(cart_id: str) -> str | None:
    """The order that has the cart checked out now (for the refusal's details), or None."""
    return store.current().claim_holder(cart_id)


def release(cart_id: str, order_id: str) -> None:
    """End `order_id`'s claim (idempotent; another order's claim is left alone)."""
    store.current().release_claim(cart_id, order_id)
