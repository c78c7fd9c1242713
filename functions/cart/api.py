"""What the cart service offers checkout: the signed-in user's cart, and its checkout claim.

The only module of functions/cart/ another service may import (.importlinter).
"""

from __future__ import annotations

from functions.cart.carts import CartRef, accept_prices, remove_ordered
from functions.cart.carts import load as load_cart
from functions.cart.checkout_claims import claim_write as checkout_claim_write
from functions.cart.checkout_claims import holder as checkout_claim_holder
from functions.cart.checkout_claims import release as release_checkout_claim
from functions.cart.owner import user_ref as user_cart

__all__ = [
    "CartRef", "accept_prices", "checkout_claim_holder", "checkout_claim_write", "load_cart", "release_checkout_claim",
    "remove_ordered", "user_cart",
]
