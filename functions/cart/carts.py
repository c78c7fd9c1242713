"""Carts: lines, and the stock holds behind them, changed together in one transaction.

Items (cart table; docs/decisions/0011-stock-holds-and-carts.md):
  header  pk=CART#<cart_id>  sk=CART            owner, version, expires_at (TTL), updated_at
  line    pk=CART#<cart_id>  sk=LINE#<sku_id>   sku_id, product_id, quantity, added_price, currency,
                                                title, options, expires_at (TTL)

Every change is optimistic on the header's `version` and is written in the SAME
TransactWriteItems as the inventory holds (built by functions.inventory.holds), so a line's
quantity is always what its hold reserves, a failed reservation leaves the cart as it was, and
two concurrent changes to one cart cannot lose each other (the loser re-reads and re-applies).

A line outlives its hold: a hold expires after RESERVATION_TTL_SECONDS, the line after the
cart's 30/90 days; such a line shows `reserved_until: null` until it is changed again (which
reserves it again). Expired items are ignored on read, whether or not TTL has deleted them yet.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from functions.catalog import api as catalog
from functions.catalog.api import SkuInfo
from functions.inventory import api as inventory
from functions.inventory.api import HoldChange
from shared.errors import HoldTimeExceeded, NotFound, OutOfStock, QuantityLimitExceeded, ServiceUnavailable, ValidationError
from shared.tables import connection, is_condition_failure

MAX_LINE_QUANTITY = 50
MAX_LINES = 24  # clearing a cart is one transaction: 4 writes per line + the header, at most 100
GUEST_CART_DAYS = 30
USER_CART_DAYS = 90
MAX_ATTEMPTS = 8


def _table() -> str:
    return os.environ["CART_TABLE_NAME"]


def guest_max_hold_seconds() -> int:
    """How long a guest cart may hold stock in total, renewals included (env GUEST_MAX_HOLD_SECONDS;
    docs/decisions/0025): past it the holds lapse and a guest must sign in to reserve again."""
    return int(os.environ.get("GUEST_MAX_HOLD_SECONDS") or 2 * inventory.reservation_ttl_seconds())


@dataclass(frozen=True)
class CartRef:
    cart_id: str
    owner: str  # "user:<sub>" or "guest"

    @property
    def is_guest(self) -> bool:
        return self.owner == "guest"

    @property
    def lifetime_seconds(self) -> int:
        return (GUEST_CART_DAYS if self.is_guest else USER_CART_DAYS) * 86_400


@dataclass
class Line:
    sku_id: str
    product_id: str
    quantity: int
    added_price: int
    currency: str
    title: str
    options: dict[str, str]


@dataclass
class Cart:
    ref: CartRef
    exists: bool = False
    version: int = 0
    lines: dict[str, Line] = field(default_factory=dict)
    holds_until: int | None = None  # a guest cart: no hold of it may last past this (epoch s)


def _key(cart_id: str, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": sort_key}}


def load(ref: CartRef) -> Cart:
    """The cart as stored now (strongly consistent), expired items ignored."""
    now = int(time.time())
    cart = Cart(ref)
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"CART#{ref.cart_id}"}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        response = connection().client.query(**kwargs)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    header = next((item for item in items if item["sk"]["S"] == "CART"), None)
    if header is None or int(header["expires_at"]["N"]) <= now or header["owner"]["S"] != ref.owner:
        return cart  # no cart (or an expired one): its leftover lines are not part of anything
    cart.exists = True
    cart.version = int(header["version"]["N"])
    if "holds_until" in header:
        cart.holds_until = int(header["holds_until"]["N"])
    for item in items:
        if item["sk"]["S"].startswith("LINE#") and int(item["expires_at"]["N"]) > now:
            line = Line(
                sku_id=item["sku_id"]["S"],
                product_id=item["product_id"]["S"],
                quantity=int(item["quantity"]["N"]),
                added_price=int(item["added_price"]["N"]),
                currency=item["currency"]["S"],
                title=item["title"]["S"],
                options={k: v["S"] for k, v in item.get("options", {}).get("M", {}).items()},
            )
            cart.lines[line.sku_id] = line
    return cart


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
    decide: Any,
    infos: dict[str, SkuInfo] | None,
    requested: dict[str, int] | None = None,
    must_exist: bool = False,
    extra: Any = None,
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
) -> list[dict[str, Any]]:
    table = _table()
    ref = cart.ref
    now = str(int(time.time() * 1000))
    header_update: dict[str, Any] = {
        "TableName": table,
        "Key": _key(ref.cart_id, "CART"),
        "UpdateExpression": "SET #owner = :owner, version = :next, expires_at = :exp, updated_at = :now",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {
            ":owner": {"S": ref.owner}, ":next": {"N": str(cart.version + 1)}, ":exp": {"N": str(expires_at)}, ":now": {"N": now},
        },
    }
    if holds_until is not None:
        # set once, when the guest cart starts (a cart from before the limit gets one now)
        header_update["UpdateExpression"] += (
            ", holds_until = if_not_exists(holds_until, :hu)" if cart.exists else ", holds_until = :hu")
        header_update["ExpressionAttributeValues"][":hu"] = {"N": str(holds_until)}
    if cart.exists:
        header_update["ConditionExpression"] = "version = :version"
        header_update["ExpressionAttributeValues"][":version"] = {"N": str(cart.version)}
    else:
        # A new cart, or one whose header expired: whatever is there is replaced, but only if
        # nobody else started it meanwhile.
        header_update["ConditionExpression"] = "attribute_not_exists(pk) OR expires_at <= :nowsec"
        header_update["ExpressionAttributeValues"][":nowsec"] = {"N": str(int(time.time()))}
    writes: list[dict[str, Any]] = [{"Update": header_update}]
    for sku_id in cart.lines:
        if sku_id not in targets:  # renew the line's lifetime with the cart's
            writes.append({"Update": {
                "TableName": table, "Key": _key(ref.cart_id, f"LINE#{sku_id}"),
                "UpdateExpression": "SET expires_at = :exp", "ExpressionAttributeValues": {":exp": {"N": str(expires_at)}},
            }})
    for sku_id, quantity in targets.items():
        key = _key(ref.cart_id, f"LINE#{sku_id}")
        if quantity == 0:
            writes.append({"Delete": {"TableName": table, "Key": key}})
            continue
        existing = cart.lines.get(sku_id)
        info = infos.get(sku_id)
        if existing is not None and info is None:
            writes.append({"Update": {
                "TableName": table, "Key": key, "UpdateExpression": "SET quantity = :q, expires_at = :exp",
                "ExpressionAttributeValues": {":q": {"N": str(quantity)}, ":exp": {"N": str(expires_at)}},
            }})
            continue
        assert info is not None
        writes.append({"Put": {"TableName": table, "Item": {
            **key,
            "sku_id": {"S": sku_id},
            "product_id": {"S": info.product_id},
            "quantity": {"N": str(quantity)},
            # the price when first added: GET /cart flags a line whose price has changed since
            "added_price": {"N": str(existing.added_price if existing else info.price)},
            "currency": {"S": info.currency},
            "title": {"S": info.title},
            "options": {"M": {k: {"S": v} for k, v in info.options.items()}},
            "expires_at": {"N": str(expires_at)},
        }}})
    return writes


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
            _delete_header(guest_cart)
            return
        line = next(iter(guest_cart.lines.values()))
        try:
            _merge_line(guest_cart, line, user)
        except inventory.ConcurrentChange:
            continue
    raise ServiceUnavailable("The cart is changing too fast; try again.")


def _merge_line(guest_cart: Cart, line: Line, user: CartRef) -> None:
    table = _table()
    sku_id = line.sku_id
    guest_writes: list[dict[str, Any]] = [
        {"Delete": {"TableName": table, "Key": _key(guest_cart.ref.cart_id, f"LINE#{sku_id}")}},
        {"Update": {
            "TableName": table, "Key": _key(guest_cart.ref.cart_id, "CART"),
            "UpdateExpression": "SET version = :next", "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":next": {"N": str(guest_cart.version + 1)}, ":v": {"N": str(guest_cart.version)}},
        }},
    ]
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


def _delete_header(cart: Cart) -> None:
    try:
        connection().client.delete_item(
            TableName=_table(), Key=_key(cart.ref.cart_id, "CART"),
            ConditionExpression="version = :v", ExpressionAttributeValues={":v": {"N": str(cart.version)}},
        )
    except Exception as exc:
        if not is_condition_failure(exc):
            raise  # changed meanwhile is fine (the next request merges what is new); others are not


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
    next checkout goes through at the prices the shopper has now been shown."""
    for sku_id, price in prices.items():
        try:
            connection().client.update_item(
                TableName=_table(), Key=_key(ref.cart_id, f"LINE#{sku_id}"), UpdateExpression="SET added_price = :p",
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":p": {"N": str(price)}},
            )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise  # a line removed meanwhile needs no price


def remove_ordered(ref: CartRef, order_id: str, ordered: dict[str, int]) -> None:
    """Take what an order bought out of the cart, once per order: each line drops by the ordered
    quantity (what the shopper added since stays, with its hold), and a CLEARED#<order> marker is
    written in the same transaction, so a retried step cannot take it out twice."""
    marker = _key(ref.cart_id, f"CLEARED#{order_id}")
    table = _table()

    def cleared() -> bool:
        return "Item" in connection().client.get_item(TableName=table, Key=marker, ConsistentRead=True)

    if cleared() or not load(ref).exists:
        return

    def decide(cart: Cart) -> dict[str, int]:
        if cleared():
            return {}
        return {sku: max(0, cart.lines[sku].quantity - quantity) for sku, quantity in ordered.items() if sku in cart.lines}

    def mark(cart: Cart) -> list[dict[str, Any]]:
        del cart
        return [{"Put": {
            "TableName": table, "Item": {**marker, "order_id": {"S": order_id}, "expires_at": {"N": str(int(time.time()) + ref.lifetime_seconds)}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }}]

    try:
        _mutate(ref, decide, None, must_exist=True, extra=mark)
    except ServiceUnavailable:
        if not cleared():
            raise
