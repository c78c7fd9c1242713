"""Hold items (reservations): reads, and the items of the writes that put, change and end them."""

from __future__ import annotations

from typing import Any

from functions.inventory.store.keys import EXPIRY_INDEX, EXPIRY_SHARDS, expiry_shard, expiry_sort_key, hold_end_key, hold_key
from functions.inventory.store.ops import DeleteHold, PutHold, UpdateHold
from functions.inventory.store.records import Hold
from functions.inventory.store.stock import batch_get
from shared.tables import connection


def holds_of(table: str, holder_id: str, sku_ids: list[str]) -> dict[str, Hold]:
    """The holder's holds on these SKUs, by SKU (strongly consistent; expired ones included)."""
    items = batch_get(table, [hold_key(sku, holder_id) for sku in dict.fromkeys(sku_ids)], True)
    return {hold.sku_id: hold for hold in map(to_hold, items)}


def due_holds(table: str, now: int, limit: int) -> list[Hold]:
    """Holds whose expiry has passed, oldest first per shard (from the sparse expiry index)."""
    found: list[Hold] = []
    for shard in range(EXPIRY_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :now",
            "ExpressionAttributeValues": {":p": {"S": f"HOLDS#{shard}"}, ":now": {"S": expiry_sort_key(now)}},
        }
        while len(found) < limit:
            response = connection().client.query(**kwargs)
            found.extend(to_hold(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found[:limit]


def end_kind(table: str, sku_id: str, hold_id: str) -> str | None:
    """How a hold ended (its end entry's kind), or None if it has not ended."""
    item = connection().client.get_item(TableName=table, Key=hold_end_key(sku_id, hold_id), ConsistentRead=True).get("Item")
    return item["kind"]["S"] if item else None


def to_hold(item: dict[str, Any]) -> Hold:
    return Hold(
        hold_id=item["hold_id"]["S"],
        holder_id=item["holder_id"]["S"],
        sku_id=item["sku_id"]["S"],
        quantity=int(item["quantity"]["N"]),
        expires_at=int(item["expires_at"]["N"]),
        bucket=int(item.get("bucket", {}).get("N", "0")),
    )


def _attributes(hold: Hold) -> dict[str, Any]:
    return {
        "hold_id": {"S": hold.hold_id},
        "holder_id": {"S": hold.holder_id},
        "sku_id": {"S": hold.sku_id},
        "quantity": {"N": str(hold.quantity)},
        "expires_at": {"N": str(hold.expires_at)},
        "bucket": {"N": str(hold.bucket)},
        "gsi1pk": {"S": expiry_shard(hold.holder_id)},
        "gsi1sk": {"S": expiry_sort_key(hold.expires_at)},
    }


def put_item(table: str, op: PutHold) -> dict[str, Any]:
    hold = op.hold
    return {"Put": {
        "TableName": table,
        "Item": {**hold_key(hold.sku_id, hold.holder_id), **_attributes(hold)},
        "ConditionExpression": "attribute_not_exists(pk)",
    }}


def update_item(table: str, op: UpdateHold) -> dict[str, Any]:
    old, new = op.old, op.new
    return {"Update": {
        "TableName": table,
        "Key": hold_key(old.sku_id, old.holder_id),
        "UpdateExpression": "SET quantity = :q, expires_at = :e, gsi1sk = :s, #bucket = :b",
        "ExpressionAttributeNames": {"#bucket": "bucket"},  # a reserved word
        "ConditionExpression": "hold_id = :id AND quantity = :old",
        "ExpressionAttributeValues": {
            ":q": {"N": str(new.quantity)},
            ":e": {"N": str(new.expires_at)},
            ":s": {"S": expiry_sort_key(new.expires_at)},
            ":b": {"N": str(new.bucket)},
            ":id": {"S": old.hold_id},
            ":old": {"N": str(old.quantity)},
        },
    }}


def delete_item(table: str, op: DeleteHold) -> dict[str, Any]:
    hold = op.hold
    if op.due_by is None:
        return {"Delete": {
            "TableName": table,
            "Key": hold_key(hold.sku_id, hold.holder_id),
            "ConditionExpression": "hold_id = :id AND quantity = :old",
            "ExpressionAttributeValues": {":id": {"S": hold.hold_id}, ":old": {"N": str(hold.quantity)}},
        }}
    # The sweeper's `hold` comes from the expiry index (up to a GSI's lag old): the stock goes back
    # to the bucket it names, so the condition pins that bucket too (a hold written before buckets
    # has none: 0).
    bucket = "(#bucket = :b OR attribute_not_exists(#bucket))" if hold.bucket == 0 else "#bucket = :b"
    return {"Delete": {
        "TableName": table,
        "Key": hold_key(hold.sku_id, hold.holder_id),
        "ConditionExpression": f"hold_id = :id AND quantity = :q AND expires_at <= :now AND {bucket}",
        "ExpressionAttributeNames": {"#bucket": "bucket"},  # a reserved word
        "ExpressionAttributeValues": {":id": {"S": hold.hold_id}, ":q": {"N": str(hold.quantity)}, ":now": {"N": str(op.due_by)},
                                      ":b": {"N": str(hold.bucket)}},
    }}
