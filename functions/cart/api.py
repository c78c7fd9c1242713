"""What the cart service offers other services (checkout, in the orders service). The only module
of functions/cart/ another service may import (.importlinter).

  CartRef(cart_id, owner)                   a cart: "user:<sub>" or "guest" (.is_guest, .lifetime_seconds)
  user_cart(principal) -> CartRef           the signed-in user's cart
  load_cart(ref) -> Cart                    the cart now (strongly consistent): .exists, .version,
                                            .lines {sku_id: Line(sku_id, product_id, quantity,
                                            added_price, currency, title, options)}
  accept_prices(ref, {sku_id: price}) -> None
                                            the lines take on these prices (checkout refused the old ones)
  remove_ordered(ref, order_id, {sku_id: quantity}) -> None
                                            what an order bought leaves the cart, once per order
Its checkout claim (one live checkout per cart, docs/decisions/0019):
  checkout_claim_write(cart_id, order_id, expires_at) -> transaction item
                                            for inventory.api's hold_for_order(also=...)
  checkout_claim_holder(cart_id) -> str | None      the order that has the cart checked out
  release_checkout_claim(cart_id, order_id) -> None
"""

from __future__ import annotations

from functions.cart.carts import accept_prices, remove_ordered
from functions.cart.carts import load as load_cart
from functions.cart.checkout_claims import claim_write as checkout_claim_write
from functions.cart.checkout_claims import holder as checkout_claim_holder
from functions.cart.checkout_claims import release as release_checkout_claim
from functions.cart.owner import user_ref as user_cart
from functions.cart.store import Cart, CartRef, Line

__all__ = [
    "Cart", "CartRef", "Line", "accept_prices", "checkout_claim_holder", "checkout_claim_write", "load_cart",
    "release_checkout_claim", "remove_ordered", "user_cart",
]
