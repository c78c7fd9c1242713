"""Read a SKU's whole partition straight from the table and check the stock invariants, in
total and per stock bucket (a hot SKU's stock items, ADR 0022)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
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
    # per bucket: (on_hand, reserved, available), ledger (on_hand, reserved), live holds' quantity
    buckets: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    bucket_ledger: dict[int, tuple[int, int]] = field(default_factory=dict)
    bucket_holds: dict[int, int] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        for index, (on_hand, reserved, available) in sorted(self.buckets.items()):
            if min(on_hand, reserved, available) < 0:
                found.append(f"bucket {index}: negative counter {(on_hand, reserved, available)}")
            if on_hand != available + reserved:
                found.append(f"bucket {index}: on_hand {on_hand} != available {available} + reserved {reserved}")
            if self.bucket_ledger.get(index, (0, 0)) != (on_hand, reserved):
                found.append(f"bucket {index}: ledger {self.bucket_ledger.get(index)} != counters {(on_hand, reserved)}")
            if self.bucket_holds.get(index, 0) != reserved:
                found.append(f"bucket {index}: holds {self.bucket_holds.get(index, 0)} != reserved {reserved}")
        if set(self.bucket_ledger) - set(self.buckets) or set(self.bucket_holds) - set(self.buckets):
            found.append(f"ledger or holds name a bucket that does not exist: {self.bucket_ledger} {self.bucket_holds}")
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
    stocks = {_bucket(item["sk"]["S"]): item for item in items if _bucket(item["sk"]["S"]) is not None}
    ledger = [item for item in items if item["sk"]["S"].startswith("LEDGER#")]
    holds = [item for item in items if item["sk"]["S"].startswith("HOLD#")]
    buckets = {index: (int(item["on_hand"]["N"]), int(item["reserved"]["N"]), int(item["available"]["N"]))
               for index, item in stocks.items()}
    bucket_ledger: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for item in ledger:
        index = int(item.get("bucket", {}).get("N", "0"))
        on_hand, reserved = bucket_ledger[index]
        bucket_ledger[index] = (on_hand + int(item["on_hand_delta"]["N"]), reserved + int(item["reserved_delta"]["N"]))
    bucket_holds: dict[int, int] = defaultdict(int)
    for item in holds:
        bucket_holds[int(item.get("bucket", {}).get("N", "0"))] += int(item["quantity"]["N"])
    return SkuAudit(
        on_hand=sum(b[0] for b in buckets.values()),
        reserved=sum(b[1] for b in buckets.values()),
        available=sum(b[2] for b in buckets.values()),
        ledger_on_hand=sum(int(item["on_hand_delta"]["N"]) for item in ledger),
        ledger_reserved=sum(int(item["reserved_delta"]["N"]) for item in ledger),
        live_holds={item["holder_id"]["S"]: int(item["quantity"]["N"]) for item in holds},
        hold_ends=[item["hold_id"]["S"] for item in ledger if item["sk"]["S"].startswith("LEDGER#END#")],
        buckets=buckets,
        bucket_ledger=dict(bucket_ledger),
        bucket_holds=dict(bucket_holds),
    )


def _bucket(sk: str) -> int | None:
    from functions.inventory.store import bucket_of

    return bucket_of(sk)


def expire_holds_now(stack: Any, sku_id: str, holder_id: str | None = None) -> list[dict[str, Any]]:
    """Move holds' expiry into the past, as if their time had come (returns their new images)."""
    import time

    from functions.inventory.store import expiry_sort_key

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
