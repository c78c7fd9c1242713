"""The cart table: the only code that reads or writes it (docs/decisions/0011, 0019).

  header  pk=CART#<cart_id>  sk=CART              owner, version, expires_at (TTL), updated_at,
                                                  holds_until (a guest cart's hold window, ADR 0025)
  line    pk=CART#<cart_id>  sk=LINE#<sku_id>     sku_id, product_id, quantity, added_price, currency,
                                                  title, options, expires_at (TTL)
  cleared pk=CART#<cart_id>  sk=CLEARED#<order>   order_id, expires_at: what an order bought is out of the cart
  claim   pk=CART#<cart_id>  sk=CHECKOUT          order_id, expires_at (= the order's hold expiry; TTL)

A cart's changes are written in the inventory's hold transaction: `writes` and the other write
builders return TransactItems that the cart passes to inventory.api as `also`, never sends itself.
They are opaque to the cart's logic (carts.py), which only decides what the cart becomes.

`CartStore` is the protocol; the logic gets it from `current()`: the table (`DynamoCartStore`) in
production, an in-memory store with the same conditions in tests (`using`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.tables import connection, is_condition_failure

GUEST_CART_DAYS = 30
USER_CART_DAYS = 90
HEADER_SK = "CART"
LINE_SK_PREFIX = "LINE#"
CLAIM_SK = "CHECKOUT"


# -- what the store reads -----------------------------------------------------------------------


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


@dataclass
class LineWrites:
    """What a change does to the cart's lines; every other line of the cart is renewed (its
    expiry moves with the cart's)."""

    put: dict[str, Line] = field(default_factory=dict)  # written whole (new, or described by the catalog now)
    quantities: dict[str, int] = field(default_factory=dict)  # only the quantity changes
    delete: list[str] = field(default_factory=list)

    def touches(self, sku_id: str) -> bool:
        return sku_id in self.put or sku_id in self.quantities or sku_id in self.delete


class CartStore(Protocol):
    """The cart table as the cart's logic sees it. The write builders return transaction items
    for inventory.api's `also` (opaque to the logic)."""

    def load(self, ref: CartRef) -> Cart:
        """The cart as stored now (strongly consistent), expired items ignored; `exists` False
        for no cart, an expired one, or another owner's."""
        ...

    def writes(self, cart: Cart, lines: LineWrites, expires_at: int, holds_until: int | None) -> list[Any]:
        """The cart after a change: its header (version + 1, only at the version read; a cart
        that did not exist only if nobody started it meanwhile), the lines, the other lines renewed."""
        ...

    def take_line(self, cart: Cart, sku_id: str) -> list[Any]:
        """A line leaves the cart (a merge moved it): the line deleted, version + 1 at the version read."""
        ...

    def delete_header(self, cart: Cart) -> None:
        """The cart's header, only at the version read (changed meanwhile: left as it is)."""
        ...

    def set_added_price(self, ref: CartRef, sku_id: str, price: int) -> None:
        """The price a line was added at, only if the line is there."""
        ...

    def cleared(self, ref: CartRef, order_id: str) -> bool:
        """Whether the order's purchase was taken out of the cart."""
        ...

    def cleared_marker(self, ref: CartRef, order_id: str, expires_at: int) -> Any:
        """The item saying the order's purchase was taken out, put only if absent."""
        ...

    def claim_write(self, cart_id: str, order_id: str, expires_at: int) -> Any:
        """The cart's checkout claim for `order_id`: only if unclaimed, already this order's, or lapsed."""
        ...

    def claim_holder(self, cart_id: str) -> str | None:
        """The order whose live claim the cart has, or None."""
        ...

    def release_claim(self, cart_id: str, order_id: str) -> None:
        """End `order_id`'s claim (another order's claim is left alone; none is fine)."""
        ...


# -- the table ----------------------------------------------------------------------------------


def _key(cart_id: str, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": sort_key}}


class DynamoCartStore:
    """The cart table named by CART_TABLE_NAME (read when used), with the low-level client."""

    @property
    def table(self) -> str:
        return os.environ["CART_TABLE_NAME"]

    def load(self, ref: CartRef) -> Cart:
        now = int(time.time())
        cart = Cart(ref)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
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
        header = next((item for item in items if item["sk"]["S"] == HEADER_SK), None)
        if header is None or int(header["expires_at"]["N"]) <= now or header["owner"]["S"] != ref.owner:
            return cart  # no cart (or an expired one): its leftover lines are not part of anything
        cart.exists = True
        cart.version = int(header["version"]["N"])
        if "holds_until" in header:
            cart.holds_until = int(header["holds_until"]["N"])
        for item in items:
            if item["sk"]["S"].startswith(LINE_SK_PREFIX) and int(item["expires_at"]["N"]) > now:
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

    def writes(self, cart: Cart, lines: LineWrites, expires_at: int, holds_until: int | None) -> list[Any]:
        table = self.table
        ref = cart.ref
        now = str(int(time.time() * 1000))
        header_update: dict[str, Any] = {
            "TableName": table,
            "Key": _key(ref.cart_id, HEADER_SK),
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
            if not lines.touches(sku_id):  # renew the line's lifetime with the cart's
                writes.append({"Update": {
                    "TableName": table, "Key": _key(ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}"),
                    "UpdateExpression": "SET expires_at = :exp", "ExpressionAttributeValues": {":exp": {"N": str(expires_at)}},
                }})
        for sku_id in lines.delete:
            writes.append({"Delete": {"TableName": table, "Key": _key(ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}")}})
        for sku_id, quantity in lines.quantities.items():
            writes.append({"Update": {
                "TableName": table, "Key": _key(ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}"),
                "UpdateExpression": "SET quantity = :q, expires_at = :exp",
                "ExpressionAttributeValues": {":q": {"N": str(quantity)}, ":exp": {"N": str(expires_at)}},
            }})
        for sku_id, line in lines.put.items():
            writes.append({"Put": {"TableName": table, "Item": {
                **_key(ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}"),
                "sku_id": {"S": sku_id},
                "product_id": {"S": line.product_id},
                "quantity": {"N": str(line.quantity)},
                "added_price": {"N": str(line.added_price)},
                "currency": {"S": line.currency},
                "title": {"S": line.title},
                "options": {"M": {k: {"S": v} for k, v in line.options.items()}},
                "expires_at": {"N": str(expires_at)},
            }}})
        return writes

    def take_line(self, cart: Cart, sku_id: str) -> list[Any]:
        table = self.table
        return [
            {"Delete": {"TableName": table, "Key": _key(cart.ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}")}},
            {"Update": {
                "TableName": table, "Key": _key(cart.ref.cart_id, HEADER_SK),
                "UpdateExpression": "SET version = :next", "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":next": {"N": str(cart.version + 1)}, ":v": {"N": str(cart.version)}},
            }},
        ]

    def delete_header(self, cart: Cart) -> None:
        try:
            connection().client.delete_item(
                TableName=self.table, Key=_key(cart.ref.cart_id, HEADER_SK),
                ConditionExpression="version = :v", ExpressionAttributeValues={":v": {"N": str(cart.version)}},
            )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise  # changed meanwhile is fine (the next request merges what is new); others are not

    def set_added_price(self, ref: CartRef, sku_id: str, price: int) -> None:
        try:
            connection().client.update_item(
                TableName=self.table, Key=_key(ref.cart_id, f"{LINE_SK_PREFIX}{sku_id}"), UpdateExpression="SET added_price = :p",
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":p": {"N": str(price)}},
            )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise  # a line removed meanwhile needs no price

    def cleared(self, ref: CartRef, order_id: str) -> bool:
        key = _key(ref.cart_id, f"CLEARED#{order_id}")
        return "Item" in connection().client.get_item(TableName=self.table, Key=key, ConsistentRead=True)

    def cleared_marker(self, ref: CartRef, order_id: str, expires_at: int) -> Any:
        return {"Put": {
            "TableName": self.table,
            "Item": {**_key(ref.cart_id, f"CLEARED#{order_id}"), "order_id": {"S": order_id}, "expires_at": {"N": str(expires_at)}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }}

    def claim_write(self, cart_id: str, order_id: str, expires_at: int) -> Any:
        return {"Put": {
            "TableName": self.table,
            "Item": {**_key(cart_id, CLAIM_SK), "order_id": {"S": order_id}, "expires_at": {"N": str(expires_at)}},
            "ConditionExpression": "attribute_not_exists(pk) OR order_id = :order OR expires_at <= :now",
            "ExpressionAttributeValues": {":order": {"S": order_id}, ":now": {"N": str(int(time.time()))}},
        }}

    def claim_holder(self, cart_id: str) -> str | None:
        item = connection().client.get_item(TableName=self.table, Key=_key(cart_id, CLAIM_SK), ConsistentRead=True).get("Item")
        if not item or int(item["expires_at"]["N"]) <= time.time():
            return None
        return item["order_id"]["S"]

    def release_claim(self, cart_id: str, order_id: str) -> None:
        try:
            connection().client.delete_item(
                TableName=self.table, Key=_key(cart_id, CLAIM_SK), ConditionExpression="order_id = :order",
                ExpressionAttributeValues={":order": {"S": order_id}},
            )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise  # gone already, or another order's: nothing of ours to end


# A test's store, for its own context (thread): the local stack's threads keep the table.
_override: ContextVar[CartStore | None] = ContextVar("cart_store", default=None)
_table = DynamoCartStore()


def current() -> CartStore:
    """The store the cart's logic uses: the table, unless a test put another in its place."""
    override = _override.get()
    return override if override is not None else _table


@contextmanager
def using(store: CartStore) -> Iterator[CartStore]:
    """For tests: the cart's logic uses `store` inside the block, in this context (thread)."""
    token = _override.set(store)
    try:
        yield store
    finally:
        _override.reset(token)
