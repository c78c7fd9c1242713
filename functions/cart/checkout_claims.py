"""A cart's checkout claim: while an order holds the cart's stock, no other order can reserve it.

Item (cart table; docs/decisions/0019-one-checkout-per-cart.md):
  claim  pk=CART#<cart_id>  sk=CHECKOUT   order_id, expires_at (= the order's hold expiry; TTL)

The checkout saga's ReserveStock writes the claim IN the transaction that moves the cart's holds
to the order (functions/inventory/orders.py `hold_for_order(also=...)`), on the condition that no
other live order has it. Two orders racing on one cart: DynamoDB applies one transaction, the
other is cancelled whole (no hold moved, nothing reserved) and that checkout fails with
CART_ALREADY_CHECKED_OUT. The claim ends when its order no longer holds the cart's stock: the
cart is cleared after confirmation, or the order is settled (cancelled or failed); a claim whose
order was never settled lapses at its own expiry, when that order's holds have lapsed too.
"""

from __future__ import annotations

import os
import time
from typing import Any

from shared.tables import connection, is_condition_failure

CLAIM_SK = "CHECKOUT"


def _table() -> str:
    return os.environ["CART_TABLE_NAME"]


def _key(cart_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": CLAIM_SK}}


def claim_write(cart_id: str, order_id: str, expires_at: int) -> dict[str, Any]:
    """The TransactItems Put that claims the cart for `order_id` (a retry by the same order passes;
    a claim of another order passes only once it has lapsed)."""
    return {"Put": {
        "TableName": _table(),
        "Item": {**_key(cart_id), "order_id": {"S": order_id}, "expires_at": {"N": str(expires_at)}},
        "ConditionExpression": "attribute_not_exists(pk) OR order_id = :order OR expires_at <= :now",
        "ExpressionAttributeValues": {":order": {"S": order_id}, ":now": {"N": str(int(time.time()))}},
    }}


def holder(cart_id: str) -> str | None:
    """The order that has the cart checked out now (for the refusal's details), or None."""
    item = connection().client.get_item(TableName=_table(), Key=_key(cart_id), ConsistentRead=True).get("Item")
    if not item or int(item["expires_at"]["N"]) <= time.time():
        return None
    return item["order_id"]["S"]


def release(cart_id: str, order_id: str) -> None:
    """End `order_id`'s claim (idempotent; another order's claim is left alone)."""
    try:
        connection().client.delete_item(
            TableName=_table(), Key=_key(cart_id), ConditionExpression="order_id = :order",
            ExpressionAttributeValues={":order": {"S": order_id}},
        )
    except Exception as exc:
        if not is_condition_failure(exc):
            raise  # gone already, or another order's: nothing of ours to end
