"""Orders stream consumer: every order that became CANCELLED or FAILED is settled (stock back,
money back, the saga told to stop). The guarantee behind PUT /orders/{id}/cancel and the saga's
own compensation: whichever of them dies halfway, this finishes the job (all steps idempotent)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.orders import settlement
from shared.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _settle(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("sk") != "ORDER" or image.get("status") not in ("CANCELLED", "FAILED"):
        return
    settlement.settle(str(image["order_id"]))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_settle, processor=processor, context=context)
