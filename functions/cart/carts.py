"""Carts: lines, and the stock holds behind them, changed together in one transaction.

The cart table's items are store.py's (docs/decisions/0011-stock-holds-and-carts.md); this module
decides what a cart becomes. Every change is optimistic on the header's `version` and is written
in the SAME transaction as the inventory holds (inventory.api `apply_holds(..., also=cart_writes)`),
so a line's quantity is always what its hold reserves, a failed reservation leaves the cart as it
was, and two concurrent changes to one cart cannot lose each other (the loser re-reads and
re-applies).

A line outlives its hold: a hold expires after RESERVATION_TTL_SECONDS, the line after the
cart's 30/90 days; such a line shows `reserved_until: null` until it is changed again (which
reserves it again). Expired items are ignored on read, whether or not TTL has deleted them yet.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from functions.cart import store
from functions.cart.store import Cart, CartRef, Line, LineWrites
from functions.catalog import api as catalog
from functions.catalog.api import SkuInfo
from functions.inventory import api as inventory
from functions.inventory.api import HoldChange
from shared.errors import HoldTimeExceeded, NotFound, OutOfStock, QuantityLimitExceeded, ServiceUnavailable, ValidationError

MAX_LINE_QUANTITY = 50
MAX_LINES = 24  # clearing a cart is one transaction: 4 writes per line + the header, at most 100
MAX_ATTEMPTS = 8

__all__ = ["MAX_LINES", "MAX_LINE_QUANTITY", "Cart", "CartRef", "Line", "accept_prices", "add", "clear", "load", "merge",
           "remove", "remove_ordered", "set_quantity", "view"]


def guest_max_hold_seconds() -> int:
    """How long a guest cart may hold stock in total, renewals included (env GUEST_MAX_HOLD_SECONDS;
    docs/decisions/0025): past it the holds lapse and a guest must sign in to reserve again."""
    return int(os.environ.get("GUEST_MAX_HOLD_SECONDS") or 2 * inventory.reservation_ttl_seconds())


def load(ref: CartRef) -> Cart:
    """The cart as stored now (strongly consistent), expired items ignored."""
    return store.current().load(ref)


# -- changes ------------------------------------------------------------------------------------


def add(ref: CartRef, sku_id: str, quantity: int, must_exist: bool = False) -> Cart:
    """must_exist: the caller named this cart (a guest token), so it must be there already.

    The admission gate answers first: a SKU the stream says is sold out is a 409 before any
    DynamoDB call (functions/inventory/gate.py); otherwise the transaction decides."""
    with inventory.admission(sku_id, quantity):
        return _add(ref, sku_id, quantity, must_exist)


def _add(ref: CartRef, sku_id: str, quantity: int, must_exist: bool) -> Cart:
    info = _live_sku(sku_id)

    def change(cart: Cart) -> dict[str, int]:
        line = cart.lines.get(sku_id)
        total = (line.quantity if line else 0) + quantity
        if total > MAX_LINE_QUANTITY:
            raise ValidationError(
                f"A cart line holds at most {MAX_LINE_QUANTITY}.",
                {"fields": [{"field": "body.quantity", "message": f"the line would hold {total}; at most {MAX_LINE_QUANTITY}"}]},
            )
        _check_limit(info, line.quantity if line else 0, total)
        if line is None and len(cart.lines) >= MAX_LINES:
            raise ValidationError(f"A cart holds at most {MAX_LINES} different items.", {"max_lines": MAX_LINES})
        other = next((existing.currency for existing in cart.lines.values() if existing.currency != info.currency), None)
        if other:
            raise ValidationError(
                f"This cart is in {other}; this item is priced in {info.currency}.",
                {"fields": [{"field": "body.sku_id", "message": f"the cart's currency is {other}"}]},
            )
        return {sku_id: total}

    return _mutate(ref, change, {sku_id: info}, requested={sku_id: quantity}, must_exist=must_exist)


def set_quantity(ref: CartRef, sku_id: str, quantity: int) -> Cart:
    infos, uncertain = catalog.current_or_last_known([sku_id])
    info = infos.get(sku_id)  # None: gone from the catalog (the line may still shrink), or unknown right now

    def change(cart: Cart) -> dict[str, int]:
        if sku_id not in cart.lines:
            raise NotFound("This item is not in the cart.")
        if info is not None:
            _check_limit(info, cart.lines[sku_id].quantity, quantity)
        elif sku_id in uncertain and quantity > cart.lines[sku_id].quantity:
            # its max_per_cart cannot be checked: shrinking is fine, growing waits for the catalog
            raise catalog.CatalogUnavailable("The catalog cannot be reached to check this item's limit; retry shortly.")
        return {sku_id: quantity}

    return _mutate(ref, change, None, requested={sku_id: quantity}, must_exist=True)


def remove(ref: CartRef, sku_id: str) -> Cart:
    def change(cart: Cart) -> dict[str, int]:
        if sku_id not in cart.lines:
            raise NotFound("This item is not in the cart.")
        return {sku_id: 0}

    return _mutate(ref, change, None, must_exist=True)


def clear(ref: CartRef) -> None:
    if not load(ref).exists:
        if ref.is_guest:
            raise NotFound("No such cart.")
        return  # a user without a cart: already empty
    _mutate(ref, lambda cart: {sku: 0 for sku in cart.lines}, None, must_exist=True)


def _check_limit(info: SkuInfo, in_cart: int, total: int) -> None:
    """A line may hold at most the SKU's `max_per_cart` (a shrinking line is always allowed)."""
    if total > info.max_per_cart and total > in_cart:
        raise QuantityLimitExceeded(
            f"One cart may hold at most {info.max_per_cart} of this item.",
            {"sku_id": info.sku_id, "max_per_cart": info.max_per_cart, "in_cart": in_cart, "requested": total - in_cart},
        )


def _live_sku(sku_id: str) -> SkuInfo:
    """The SKU as the catalog says now, or as last known when it cannot say (checkout verifies
    the price anyway); with neither, 503 CATALOG_UNAVAILABLE."""
    infos, uncertain = catalog.current_or_last_known([sku_id])
    info = infos.get(sku_id)
    if info is None:
        if sku_id in uncertain:
            raise catalog.CatalogUnavailable("The catalog cannot be reached to add this item; retry shortly.")
        raise NotFound("No such SKU.", {"sku_id": sku_id})
    return info


def _mutate(
    ref: CartRef,
    decide: Callable[[Cart], dict[str, int]],
    infos: dict[str, SkuInfo] | None,
    requested: dict[str, int] | None = None,
    must_exist: bool = False,
    extra: Callable[[Cart], list[Any]] | None = None,
) -> Cart:
    """Read the cart, decide the new line quantities, and write lines + holds in one transaction
    (with `extra(cart)`'s items, if given); on a concurrent change of the cart, read again and
    decide again."""
    for _ in range(MAX_ATTEMPTS):
        cart = load(ref)
        if must_exist and not cart.exists:
            raise NotFound("No such cart.")
        targets = decide(cart)
        now = int(time.time())
        hold_expiry = now + inventory.reservation_ttl_seconds()
        cart_expiry = now + ref.lifetime_seconds
        holds_until = None
        if ref.is_guest:
            # A guest's holds never outlive the cart's hold window, however often it renews them.
            holds_until = cart.holds_until if cart.exists and cart.holds_until else now + guest_max_hold_seconds()
            hold_expiry = min(hold_expiry, holds_until)
            if holds_until <= now and any(quantity > (cart.lines[sku].quantity if sku in cart.lines else 0)
                                          for sku, quantity in targets.items()):
                raise HoldTimeExceeded(
                    "This guest cart has held stock for the longest time a guest may; sign in to reserve more.",
                    {"held_until": _iso(holds_until)},
                )
        changes = [
            HoldChange(ref.cart_id, sku, quantity, hold_expiry, requested=(requested or {}).get(sku))
            for sku, quantity in targets.items()
        ]
        # Any change to the cart renews the holds of its other lines (never re-reserving one
        # that has lapsed: that would fail an unrelated change for lack of stock).
        changes += [
            HoldChange(ref.cart_id, sku, line.quantity, hold_expiry, only_if_held=True)
            for sku, line in cart.lines.items()
            if sku not in targets
        ]
        also = _cart_writes(cart, targets, infos or {}, cart_expiry, holds_until) + (extra(cart) if extra else [])
        try:
            inventory.apply_holds(changes, also=also)
        except inventory.ConcurrentChange:
            continue
        return load(ref)
    raise ServiceUnavailable("The cart is changing too fast; try again.")


def _cart_writes(
    cart: Cart, targets: dict[str, int], infos: dict[str, SkuInfo], expires_at: int, holds_until: int | None = None
) -> list[Any]:
    """The store's writes for the cart with these line quantities (0: removed). A line the catalog
    describes now is written whole, at the price it was added at (a new one: today's); one it
    does not (gone, or unknown right now) only changes its quantity."""
    lines = LineWrites()
    for sku_id, quantity in targets.items():
        existing, info = cart.lines.get(sku_id), infos.get(sku_id)
        if quantity == 0:
            lines.delete.append(sku_id)
        elif existing is not None and info is None:
            lines.quantities[sku_id] = quantity
        else:
            assert info is not None
            lines.put[sku_id] = Line(sku_id, info.product_id, quantity, existing.added_price if existing else info.price,
                                     info.currency, info.title, dict(info.options))
    return store.current().writes(cart, lines, expires_at, holds_until)


# -- merge on sign-in ---------------------------------------------------------------------------


def merge(guest: CartRef, user: CartRef) -> None:
    """Move a guest cart's lines (and holds) into the user's cart, one line per transaction, so
    an interrupted merge resumes on the next request; then delete the guest cart.

    Quantities add up to the per-line limit. If the sum cannot be reserved (the guest's hold had
    lapsed and stock ran out), the line still moves, unreserved, as a lapsed line would be.
    """
    for _ in range(2 * MAX_LINES + MAX_ATTEMPTS):
        guest_cart = load(guest)
        if not guest_cart.exists:
            return
        if not guest_cart.lines:
            store.current().delete_header(guest_cart)
            return
        line = next(iter(guest_cart.lines.values()))
        try:
            _merge_line(guest_cart, line, user)
        except inventory.ConcurrentChange:
            continue
    raise ServiceUnavailable("The cart is changing too fast; try again.")


def _merge_line(guest_cart: Cart, line: Line, user: CartRef) -> None:
    sku_id = line.sku_id
    guest_writes = store.current().take_line(guest_cart, sku_id)
    release_guest = HoldChange(guest_cart.ref.cart_id, sku_id, 0, end_kind="release")
    infos, uncertain = catalog.current_or_last_known([sku_id])
    info = infos.get(sku_id)
    if info is None and sku_id in uncertain:  # not known to be gone: keep it for the next request's merge
        raise catalog.CatalogUnavailable("The catalog cannot be reached to merge the cart; retry shortly.")
    user_cart = load(user)
    existing = user_cart.lines.get(sku_id)
    if info is None or (existing is None and len(user_cart.lines) >= MAX_LINES):
        inventory.apply_holds([release_guest], also=guest_writes)  # gone from the catalog, or no room: drop it
        return
    target = min((existing.quantity if existing else 0) + line.quantity, MAX_LINE_QUANTITY, info.max_per_cart)
    expires_at = int(time.time()) + user.lifetime_seconds
    user_writes = _cart_writes(user_cart, {sku_id: target}, {sku_id: info}, expires_at)
    hold_expiry = int(time.time()) + inventory.reservation_ttl_seconds()
    try:
        inventory.apply_holds(
            [HoldChange(guest_cart.ref.cart_id, sku_id, 0, end_kind="transfer"), HoldChange(user.cart_id, sku_id, target, hold_expiry)],
            also=user_writes + guest_writes,
        )
    except OutOfStock:
        inventory.apply_holds([release_guest], also=user_writes + guest_writes)


# -- the answer ---------------------------------------------------------------------------------


def view(cart: Cart) -> dict[str, Any]:
    """GET /cart's shape: current prices (flagging changes since added) and hold expiries.

    When the catalog cannot answer (slow, failing, breaker open) the cart still answers at once,
    with last-known prices (or the price a line was added at) and `price_may_have_changed` on
    those lines and on the cart: checkout verifies every price before anything is charged."""
    infos, uncertain = catalog.current_or_last_known(list(cart.lines)) if cart.lines else ({}, set())
    held = inventory.get_holds(cart.ref.cart_id, list(cart.lines)) if cart.lines else {}
    now = time.time()
    items = []
    subtotal = 0
    currency = None
    for sku_id, line in sorted(cart.lines.items()):
        info = infos.get(sku_id)
        hold = held.get(sku_id)
        unit_price = info.price if info else line.added_price
        live_hold = hold is not None and hold.expires_at > now and hold.quantity >= line.quantity
        total = unit_price * line.quantity
        subtotal += total
        currency = currency or line.currency
        items.append({
            "sku_id": sku_id,
            "product_id": line.product_id,
            "title": info.title if info else line.title,
            "options": info.options if info else line.options,
            "image": info.image if info else None,
            "quantity": line.quantity,
            "unit_price": unit_price,
            "currency": line.currency,
            "line_total": total,
            "reserved_until": _iso(hold.expires_at) if live_hold and hold else None,
            "price_changed": bool(info) and unit_price != line.added_price,
            "price_may_have_changed": sku_id in uncertain,
            "purchasable": info is not None or sku_id in uncertain,
        })
    return {
        "cart_id": cart.ref.cart_id if cart.exists else None,
        "items": items,
        "subtotal": subtotal,
        "currency": currency,
        "price_may_have_changed": bool(uncertain),
    }


def _iso(epoch_seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


# -- checkout -----------------------------------------------------------------------------------


def accept_prices(ref: CartRef, prices: dict[str, int]) -> None:
    """Take on the catalog's current prices (checkout refused the old ones and said so), so the
    next checkout goes through at the prices the shopper has now been shown (a line removed
    meanwhile needs no price)."""
    for sku_id, price in prices.items():
        store.current().set_added_price(ref, sku_id, price)


def remove_ordered(ref: CartRef, order_id: str, ordered: dict[str, int]) -> None:
    """Take what an order bought out of the cart, once per order: each line drops by the ordered
    quantity (what the shopper added since stays, with its hold), and a CLEARED#<order> marker is
    written in the same transaction, so a retried step cannot take it out twice."""
    table = store.current()
    if table.cleared(ref, order_id) or not load(ref).exists:
        return

    def decide(cart: Cart) -> dict[str, int]:
        if table.cleared(ref, order_id):
            return {}
        return {sku: max(0, cart.lines[sku].quantity - quantity) for sku, quantity in ordered.items() if sku in cart.lines}

    def mark(cart: Cart) -> list[Any]:
        del cart
        return [table.cleared_marker(ref, order_id, int(time.time()) + ref.lifetime_seconds)]

    try:
        _mutate(ref, decide, None, must_exist=True, extra=mark)
    except ServiceUnavailable:
        if not table.cleared(ref, order_id):
            raise
