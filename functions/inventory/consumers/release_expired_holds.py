"""Inventory stream -> the TTL backstop: return the stock of holds DynamoDB's TTL deleted.

The event-source filter passes only REMOVE records of holds made by the TTL process
(`userIdentity.principalId == "dynamodb.amazonaws.com"`); the check is repeated here because a
user delete must never be released a second time. The old image names the hold; releasing puts
its end entry only if absent, so a redelivered record, or a sweeper that got there first, is a
no-op. Failures are reported per record (retries, bisect, then the on-failure queue).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.inventory.holds import Hold, release_deleted_hold
from functions.inventory.store import HOLD_SK_PREFIX
from shared.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def _record_handler(record: DynamoDBRecord) -> None:
    identity = record.raw_event.get("userIdentity") or {}
    image = record.dynamodb.old_image if record.dynamodb else None
    if record.raw_event.get("eventName") != "REMOVE" or identity.get("principalId") != TTL_PRINCIPAL or not image:
        return
    if not str(image.get("sk", "")).startswith(HOLD_SK_PREFIX):
        return
    hold = Hold(
        hold_id=image["hold_id"],
        holder_id=image["holder_id"],
        sku_id=image["sku_id"],
        quantity=int(image["quantity"]),
        expires_at=int(image["expires_at"]),
        bucket=int(image.get("bucket", 0)),
    )
    released = release_deleted_hold(hold)
    logger.info("TTL-deleted hold", extra={"hold_id": hold.hold_id, "sku_id": hold.sku_id, "released": released})


@logger.inject_lambda_context
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
