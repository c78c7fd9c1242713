"""Orders stream records and SQS events shaped as Lambda delivers them, for the notification tests."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

ORDER_ID = "ord_01KAXYZ0000000000000000001"
BUYER = "buyer-sub"
SELLER_A = "seller-a-sub"
SELLER_B = "seller-b-sub"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-11-22T00:00:00.000"

_sequence = itertools.count(1)


def order(status: str, version: int, *, order_id: str = ORDER_ID, buyer: str = BUYER, sellers: tuple[str, str] = (SELLER_A, SELLER_B),
          reason: str | None = None, history: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """The order header item: two lines, one per seller (2 x 15.00 + 1 x 9.99 = 39.99 USD)."""
    seller_a, seller_b = sellers
    item = {
        "pk": f"ORDER#{order_id}",
        "sk": "ORDER",
        "order_id": order_id,
        "user_id": buyer,
        "status": status,
        "version": version,
        "items": [
            {"sku_id": "sku_1", "product_id": "prd_1", "seller_id": seller_a, "title": "Blue Cotton T-Shirt",
             "options": {"size": "M", "color": "blue"}, "quantity": 2, "unit_price": 1500, "currency": "USD"},
            {"sku_id": "sku_2", "product_id": "prd_2", "seller_id": seller_b, "title": "Canvas Tote Bag",
             "options": {}, "quantity": 1, "unit_price": 999, "currency": "USD"},
        ],
        "total": 3999,
        "currency": "USD",
        "seller_ids": [seller_a, seller_b],
        "history": history if history is not None else [{"status": status, "at": f"2026-11-22T10:00:0{version % 10}.000Z"}],
        "created_at": "2026-11-22T10:00:00.000Z",
        "updated_at": f"2026-11-22T10:00:0{version % 10}.000Z",
        "shipping_address": {"name": "Ana Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        **extra,
    }
    if reason is not None:
        item["reason"] = reason
    return item


def _image(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


def stream_record(event_name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Lambda-shaped DynamoDB stream record (NEW_AND_OLD_IMAGES) of the orders table."""
    source = new or old or {}
    sequence = f"{next(_sequence):021d}"
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795341600,
        "Keys": _image({"pk": source["pk"], "sk": source["sk"]}),
        "SequenceNumber": sequence,
        "SizeBytes": 1200,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        ddb["NewImage"] = _image(new)
    if old is not None:
        ddb["OldImage"] = _image(old)
    return {"eventID": f"event-{sequence}", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": ddb, "eventSourceARN": STREAM_ARN}


def status_change(old_status: str, new_status: str, version: int, **kwargs: Any) -> dict[str, Any]:
    """MODIFY of the header from `old_status` (version - 1) to `new_status` (version)."""
    return stream_record("MODIFY", new=order(new_status, version, **kwargs), old=order(old_status, version - 1, **kwargs))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for messages as ReceiveMessage returned them."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795341600000",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1795341600050"},
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def eventbridge_message(detail_type: str, detail: dict[str, Any], message_id: str = "msg-1") -> dict[str, Any]:
    """An SQS message (ReceiveMessage's shape) whose body is an EventBridge event."""
    body = json.dumps({"version": "0", "id": f"eb-{message_id}", "detail-type": detail_type, "source": "shop.orders",
                       "account": "123456789012", "time": "2026-11-22T10:03:13Z", "region": "us-east-1",
                       "resources": [], "detail": detail})
    return {"MessageId": message_id, "ReceiptHandle": f"handle-{message_id}", "Body": body}
