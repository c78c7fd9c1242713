"""The orders table: every write conditional, every status change along TRANSITIONS only."""

from __future__ import annotations

import os
from typing import Any

from functions.orders.domain import (
    CANCELLED,
    CONFIRMED,
    DELIVERED,
    PROCESSING,
    REFUNDED,
    SHIPPED,
    Order,
    from_item,
    order_key,
    purchase_key,
    seller_key,
    sources_of,
)
from shared import cursors, transactions
from shared.attributes import from_attrs, now_iso, to_attr, to_item
from shared.errors import InvalidState, NotFound
from shared.tables import connection, is_condition_failure
from shared.transactions import retry_when_busy

USER_INDEX = "gsi1"
SELLER_INDEX = "gsi2"


def table() -> str:
    return os.environ["ORDERS_TABLE_NAME"]


# -- create and read ----------------------------------------------------------------------------


def new_order_put(order_id: str, user_id: str, cart_id: str, shipping_address: dict[str, Any]) -> dict[str, Any]:
    """The TransactItems Put of a new PROCESSING order (written with its idempotency record)."""
    created = now_iso()
    item = to_item({
        "order_id": order_id, "user_id": user_id, "cart_id": cart_id, "status": PROCESSING, "version": 1,
        "items": [], "total": 0, "hold_ids": {}, "payment": {}, "shipping_address": shipping_address,
        "history": [{"status": PROCESSING, "at": created}], "shipped_sellers": [],
        "created_at": created, "updated_at": created,
        "gsi1pk": f"USER#{user_id}", "gsi1sk": f"{created}#{order_id}",
    })
    return {"Put": {"TableName": table(), "Item": {**order_key(order_id), **item}, "ConditionExpression": "attribute_not_exists(pk)"}}


def get(order_id: str) -> Order | None:
    response = connection().client.get_item(TableName=table(), Key=order_key(order_id), ConsistentRead=True)
    item = response.get("Item")
    return from_item(from_attrs(item)) if item else None


def get_owned(order_id: str, user_id: str, is_admin: bool = False) -> Order:
    """The order if `user_id` owns it (an admin: any); anyone else gets the same 404 as for no order."""
    order = get(order_id) if order_id.startswith("ord_") else None
    if order is None or (order.user_id != user_id and not is_admin):
        raise NotFound("No such order.")
    return order


def get_sellers_order(order_id: str, seller_id: str) -> Order:
    """The order if it has the seller's items; otherwise the same 404 as for no order."""
    order = get(order_id) if order_id.startswith("ord_") else None
    if order is None or seller_id not in {line.seller_id for line in order.items}:
        raise NotFound("No such order.")
    return order


def require(order_id: str) -> Order:
    order = get(order_id)
    if order is None:
        raise LookupError(f"order {order_id} does not exist")
    return order


# -- status changes -----------------------------------------------------------------------------


def transition(
    order_id: str,
    to: str,
    *,
    reason: str | None = None,
    fields: dict[str, Any] | None = None,
    condition: str | None = None,
    values: dict[str, Any] | None = None,
    also: list[dict[str, Any]] | None = None,
) -> tuple[Order, bool]:
    """Move the order to `to` from any status allowed to reach it (plus `condition`), appending to
    its history in the same write, with `also` in the same transaction. Returns (order, changed):
    an order already in `to` is (order, False), the answer to a retried step. Any other status
    raises InvalidState: a late or duplicate event never moves an order backwards."""
    sources = sources_of(to)
    at = now_iso()
    entry: dict[str, Any] = {"status": to, "at": at}
    if reason:
        entry["reason"] = reason
    names = {"#status": "status"}
    attr_values: dict[str, Any] = {
        ":to": to_attr(to), ":one": to_attr(1), ":now": to_attr(at), ":entry": to_attr([entry]),
        **{f":from{i}": to_attr(status) for i, status in enumerate(sources)},
    }
    sets = ["#status = :to", "version = version + :one", "updated_at = :now", "history = list_append(history, :entry)"]
    if reason:
        sets.append("reason = :reason")
        attr_values[":reason"] = to_attr(reason)
    for i, (name, value) in enumerate((fields or {}).items()):
        names[f"#f{i}"] = name
        attr_values[f":f{i}"] = to_attr(value)
        sets.append(f"#f{i} = :f{i}")
    expression = f"#status IN ({', '.join(f':from{i}' for i in range(len(sources)))})"
    if condition:
        expression = f"{expression} AND ({condition})"
        attr_values.update({name: to_attr(value) for name, value in (values or {}).items()})
    update = {
        "TableName": table(), "Key": order_key(order_id), "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": attr_values,
    }
    try:
        if also:
            # the order's own condition (item 0) failing is the answer below; another item's re-raises
            transactions.write([{"Update": update}, *also], on_condition_failed={0: transactions.ConditionFailed})
        else:
            retry_when_busy(lambda: connection().client.update_item(**update))
    except Exception as exc:  # noqa: BLE001 - classified below
        if not (is_condition_failure(exc) or isinstance(exc, transactions.ConditionFailed)):
            raise
        current = get(order_id)
        if current is None:
            raise NotFound("No such order.") from None
        if current.status == to:
            return current, False
        raise InvalidState(
            f"The order is {current.status}; it cannot become {to}.", {"order_id": order_id, "status": current.status}
        ) from None
    return require(order_id), True


def set_fields(order_id: str, fields: dict[str, Any], status: str) -> Order:
    """Set attributes of an order that is still `status` (InvalidState otherwise)."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": to_attr(value) for i, value in enumerate(fields.values())}
    try:
        retry_when_busy(lambda: connection().client.update_item(
            TableName=table(), Key=order_key(order_id),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))) + ", version = version + :one",
            ConditionExpression="#status = :status",
            ExpressionAttributeNames={**names, "#status": "status"},
            ExpressionAttributeValues={**values, ":status": to_attr(status), ":one": to_attr(1)},
        ))
    except Exception as exc:
        if is_condition_failure(exc):
            current = get(order_id)
            raise InvalidState(f"The order is {current.status if current else 'gone'}.", {"order_id": order_id}) from None
        raise
    return require(order_id)


def status_check(order_id: str, status: str) -> dict[str, Any]:
    """A TransactItems ConditionCheck that the order is `status` (for other services' transactions)."""
    return {"ConditionCheck": {
        "TableName": table(), "Key": order_key(order_id), "ConditionExpression": "#status = :s",
        "ExpressionAttributeNames": {"#status": "status"}, "ExpressionAttributeValues": {":s": to_attr(status)},
    }}


def confirmation_writes(order: Order) -> list[dict[str, Any]]:
    """Written with the move to CONFIRMED: each seller's part (what sellers list) and the buyer's
    purchase claims (what reviews check)."""
    writes = []
    for seller_id in order.seller_ids:
        lines = [line.as_dict() for line in order.items if line.seller_id == seller_id]
        writes.append({"Put": {"TableName": table(), "Item": {**seller_key(order.order_id, seller_id), **to_item({
            "order_id": order.order_id, "seller_id": seller_id, "items": lines,
            "subtotal": sum(line["line_total"] for line in lines), "currency": order.currency,
            "gsi2pk": f"SELLER#{seller_id}", "gsi2sk": f"{order.created_at}#{order.order_id}",
        })}}})
    for product_id in sorted({line.product_id for line in order.items}):
        writes.append({"Put": {"TableName": table(), "Item": {
            **purchase_key(order.user_id, product_id, order.order_id), **to_item({"order_id": order.order_id}),
        }}})
    return writes


def cancellation_writes(order: Order) -> list[dict[str, Any]]:
    """Written with the move to CANCELLED: a cancelled order is no purchase."""
    return [
        {"Delete": {"TableName": table(), "Key": purchase_key(order.user_id, product_id, order.order_id)}}
        for product_id in sorted({line.product_id for line in order.items})
    ]


def unlisting_writes(order: Order) -> list[dict[str, Any]]:
    """Each seller's part of the order off the sellers' index (off `GET /seller/orders`)."""
    return [
        {"Update": {
            "TableName": table(), "Key": seller_key(order.order_id, seller_id),
            "UpdateExpression": "REMOVE gsi2pk, gsi2sk", "ConditionExpression": "attribute_exists(pk)",
        }}
        for seller_id in order.seller_ids
    ]


def raise_refunded_total(order_id: str, refunded_total: int, refunds: list[dict[str, Any]], statuses: tuple[str, ...]) -> bool:
    """The order's refund amounts, only ever upwards, while its status is one of `statuses`.
    False when the condition failed (a larger total recorded already, or another status)."""
    try:
        retry_when_busy(lambda: connection().client.update_item(  # a cancel's transaction may be in flight on it
            TableName=table(), Key=order_key(order_id),
            UpdateExpression="SET refunded_total = :total, refunds = :refunds, version = version + :one",
            ConditionExpression=(
                f"(attribute_not_exists(refunded_total) OR refunded_total < :total) "
                f"AND #status IN ({', '.join(f':s{i}' for i in range(len(statuses)))})"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":total": to_attr(refunded_total), ":refunds": to_attr(refunds), ":one": to_attr(1),
                **{f":s{i}": to_attr(status) for i, status in enumerate(statuses)},
            },
        ))
        return True
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise


def cancel(order: Order, reason: str) -> tuple[Order, bool]:
    """PENDING_PAYMENT or CONFIRMED -> CANCELLED, only while no seller has shipped."""
    return transition(
        order.order_id, CANCELLED, reason=reason, condition="size(shipped_sellers) = :zero", values={":zero": 0},
        also=cancellation_writes(order) or None,
    )


# -- fulfilment: each seller ships and delivers their own part --------------------------------

FULFIL_ATTEMPTS = 5  # another seller's shipment may land between our read and our write


def ship(order: Order, seller_id: str, carrier: str, tracking_number: str) -> Order:
    """Record the seller's shipment of their part of a CONFIRMED order (a repeat returns it as first
    recorded); the order becomes SHIPPED with the last seller's."""
    for _ in range(FULFIL_ATTEMPTS):
        if seller_id in order.shipped_sellers:
            return order
        if order.status != CONFIRMED:
            raise InvalidState(f"A {order.status} order cannot be shipped.", {"order_id": order.order_id, "status": order.status})
        shipment = {"carrier": carrier, "tracking_number": tracking_number, "shipped_at": now_iso(), "delivered_at": None}
        shipped = [*order.shipped_sellers, seller_id]
        every_seller = set(shipped) >= set(order.seller_ids)
        if _record_fulfilment(order, seller_id, shipment, {"shipped_sellers": shipped}, SHIPPED if every_seller else None):
            return require(order.order_id)
        order = require(order.order_id)
    raise InvalidState("The order changed meanwhile; try again.", {"order_id": order.order_id})


def deliver(order: Order, seller_id: str) -> Order:
    """Record that the seller's shipment arrived (a repeat changes nothing); the order becomes
    DELIVERED with the last seller's. Only a shipped part can be delivered."""
    for _ in range(FULFIL_ATTEMPTS):
        if seller_id in order.delivered_sellers:
            return order
        if seller_id not in order.shipped_sellers or order.status not in (CONFIRMED, SHIPPED):
            raise InvalidState(
                "Only a shipped part of an order can be delivered.",
                {"order_id": order.order_id, "status": order.status, "shipped": seller_id in order.shipped_sellers},
            )
        shipment = {**order.shipments.get(seller_id, {}), "delivered_at": now_iso()}
        delivered = [*order.delivered_sellers, seller_id]
        every_seller = set(delivered) >= set(order.seller_ids)
        if _record_fulfilment(order, seller_id, shipment, {"delivered_sellers": delivered}, DELIVERED if every_seller else None):
            return require(order.order_id)
        order = require(order.order_id)
    raise InvalidState("The order changed meanwhile; try again.", {"order_id": order.order_id})


def _record_fulfilment(order: Order, seller_id: str, shipment: dict[str, Any], lists: dict[str, Any], to: str | None) -> bool:
    """The seller's part and the header's copy in one transaction, on the header's version (the
    state this was decided from); moving the order to `to` if given. False: the order changed
    meanwhile (the caller reads it again and decides again)."""
    part = {"Update": {
        "TableName": table(), "Key": seller_key(order.order_id, seller_id),
        "UpdateExpression": "SET shipment = :s", "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeValues": {":s": to_attr(shipment)},
    }}
    fields = {**lists, "shipments": {**order.shipments, seller_id: shipment}}
    if to is not None:
        try:
            transition(order.order_id, to, fields=fields, condition="version = :v", values={":v": order.version}, also=[part])
        except InvalidState:
            return False
        return True
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": to_attr(value) for i, value in enumerate(fields.values())}
    header = {"Update": {
        "TableName": table(), "Key": order_key(order.order_id),
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        + ", version = version + :one, updated_at = :now",
        "ConditionExpression": "#status = :status AND version = :v",
        "ExpressionAttributeNames": {**names, "#status": "status"},
        "ExpressionAttributeValues": {
            **values, ":one": to_attr(1), ":now": to_attr(now_iso()), ":status": to_attr(order.status), ":v": to_attr(order.version),
        },
    }}
    try:
        transactions.write([header, part], on_condition_failed=transactions.ConditionFailed)
    except transactions.ConditionFailed:
        return False  # a changed header: read again
    return True


def get_part(order_id: str, seller_id: str) -> dict[str, Any] | None:
    """The seller's part of the order (their lines and shipment), or None."""
    item = connection().client.get_item(TableName=table(), Key=seller_key(order_id, seller_id), ConsistentRead=True).get("Item")
    return from_attrs(item) if item else None


# -- lists --------------------------------------------------------------------------------------


def encode_cursor(partition: str, sort_key: str | None) -> str | None:
    """A signed cursor (shared/cursors.py) of one list (USER#<id> or SELLER#<id>): another
    caller's list refuses it."""
    return cursors.encode("orders", partition, sort_key) if sort_key else None


def decode_cursor(partition: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    value = cursors.decode("orders", partition, cursor)
    if not (isinstance(value, str) and "#ord_" in value):
        raise cursors.InvalidCursor()
    return value


def _page(index: str, partition: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    pk, sk = f"{index}pk", f"{index}sk"
    kwargs: dict[str, Any] = {
        "TableName": table(), "IndexName": index, "KeyConditionExpression": f"{pk} = :p",
        "ExpressionAttributeValues": {":p": {"S": partition}}, "ScanIndexForward": False, "Limit": limit,
    }
    after = decode_cursor(partition, cursor)
    if after:
        kwargs["KeyConditionExpression"] += f" AND {sk} < :after"
        kwargs["ExpressionAttributeValues"][":after"] = {"S": after}
    response = connection().client.query(**kwargs)
    items = [from_attrs(item) for item in response.get("Items", [])]
    more = "LastEvaluatedKey" in response and len(items) == limit
    return items, encode_cursor(partition, items[-1][sk]) if more and items else None


def _headers(order_ids: list[str]) -> dict[str, Order]:
    """The orders' headers, strongly consistent (one BatchGetItem per 100): what an index page
    lists may be up to a GSI's lag old (ADR 0032); the table has the last word."""
    headers: dict[str, Order] = {}
    for start in range(0, len(order_ids), 100):
        keys = [order_key(order_id) for order_id in dict.fromkeys(order_ids[start:start + 100])]
        request: dict[str, Any] = {table(): {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = connection().client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table(), []):
                order = from_item(from_attrs(item))
                headers[order.order_id] = order
            request = response.get("UnprocessedKeys") or {}
    return headers


def list_for_user(user_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """The user's orders, newest first. The page comes from the index (an order placed within the
    GSI's lag may be missing for that long); each listed order's status and totals come from its
    header read consistently, so a listed order is never shown in a state it has left."""
    items, next_cursor = _page(USER_INDEX, f"USER#{user_id}", limit, cursor)
    headers = _headers([item["order_id"] for item in items])
    return [headers[item["order_id"]] for item in items if item["order_id"] in headers], next_cursor


def list_for_seller(seller_id: str, limit: int, cursor: str | None) -> tuple[list[tuple[dict[str, Any], Order]], str | None]:
    """The seller's parts, newest first, each with its order's header (for the current status)."""
    parts, next_cursor = _page(SELLER_INDEX, f"SELLER#{seller_id}", limit, cursor)
    headers = _headers([part["order_id"] for part in parts])
    # A refunded order leaves the index with its move to REFUNDED; a stale index read may still
    # list it: the header (a consistent read) has the last word.
    listed = [(part, headers[part["order_id"]]) for part in parts if part["order_id"] in headers]
    return [(part, order) for part, order in listed if order.status != REFUNDED], next_cursor


def purchase_orders(user_id: str, product_id: str, limit: int = 10) -> list[str]:
    """Ids of the user's standing paid orders containing the product (strongly consistent)."""
    response = connection().client.query(
        TableName=table(), KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": f"USER#{user_id}"}, ":s": {"S": f"PURCHASE#{product_id}#"}},
        Limit=limit, ConsistentRead=True,
    )
    return [item["sk"]["S"].rpartition("#")[2] for item in response.get("Items", [])]


def has_purchase(user_id: str, product_id: str) -> bool:
    response = connection().client.query(
        TableName=table(), KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": f"USER#{user_id}"}, ":s": {"S": f"PURCHASE#{product_id}#"}},
        Limit=1, ConsistentRead=True,
    )
    return bool(response.get("Items"))
