"""Read a SKU's whole partition straight from the table and check the stock invariants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3


@dataclass
class SkuAudit:
    on_hand: int
    reserved: int
    available: int
    ledger_on_hand: int
    ledger_reserved: int
    live_holds: dict[str, int]  # holder -> quantity
    hold_ends: list[str]  # hold ids whose end entry exists

    def problems(self) -> list[str]:
        found = []
        if min(self.on_hand, self.reserved, self.available) < 0:
            found.append(f"negative counter: {self}")
        if self.on_hand != self.available + self.reserved:
            found.append(f"on_hand {self.on_hand} != available {self.available} + reserved {self.reserved}")
        if (self.ledger_on_hand, self.ledger_reserved) != (self.on_hand, self.reserved):
            found.append(f"ledger ({self.ledger_on_hand}, {self.ledger_reserved}) != counters ({self.on_hand}, {self.reserved})")
        if sum(self.live_holds.values()) != self.reserved:
            found.append(f"holds {self.live_holds} do not add up to reserved {self.reserved}")
        if len(self.hold_ends) != len(set(self.hold_ends)):
            found.append("a hold ended twice")
        return found


def audit(stack: Any, sku_id: str) -> SkuAudit:
    client = boto3.client("dynamodb", endpoint_url=stack.moto.endpoint)
    table = stack.physical_name("InventoryTable")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"SKU#{sku_id}"}},
        "ConsistentRead": True,
    }
    while True:
        response = client.query(**kwargs)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    stock = next((item for item in items if item["sk"]["S"] == "STOCK"), None)
    ledger = [item for item in items if item["sk"]["S"].startswith("LEDGER#")]
    return SkuAudit(
        on_hand=int(stock["on_hand"]["N"]) if stock else 0,
        reserved=int(stock["reserved"]["N"]) if stock else 0,
        available=int(stock["available"]["N"]) if stock else 0,
        ledger_on_hand=sum(int(item["on_hand_delta"]["N"]) for item in ledger),
        ledger_reserved=sum(int(item["reserved_delta"]["N"]) for item in ledger),
        live_holds={item["holder_id"]["S"]: int(item["quantity"]["N"]) for item in items if item["sk"]["S"].startswith("HOLD#")},
        hold_ends=[item["hold_id"]["S"] for item in ledger if item["sk"]["S"].startswith("LEDGER#END#")],
    )


def expire_holds_now(stack: Any, sku_id: str, holder_id: str | None = None) -> list[dict[str, Any]]:
    """Move holds' expiry into the past, as if their time had come (returns their new images)."""
    import time

    from functions.inventory.items import expiry_sort_key

    client = boto3.client("dynamodb", endpoint_url=stack.moto.endpoint)
    table = stack.physical_name("InventoryTable")
    past = int(time.time()) - 1
    updated = []
    for item in client.query(
        TableName=table, KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
        ExpressionAttributeValues={":pk": {"S": f"SKU#{sku_id}"}, ":h": {"S": "HOLD#"}}, ConsistentRead=True,
    )["Items"]:
        if holder_id and item["holder_id"]["S"] != holder_id:
            continue
        response = client.update_item(
            TableName=table, Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET expires_at = :e, gsi1sk = :s",
            ExpressionAttributeValues={":e": {"N": str(past)}, ":s": {"S": expiry_sort_key(past)}},
            ReturnValues="ALL_NEW",
        )
        updated.append(response["Attributes"])
    return updated
