"""Catalog stream -> product cache invalidation (a product changed: its cached page is dropped).

Per-record failure reporting: a record whose invalidation fails (cache down) is reported in
batchItemFailures and retried; past its retries it lands on the on-failure queue.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.catalog.product_cache import invalidate
from shared.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _record_handler(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image or record.dynamodb.old_image or {}
    if image.get("sk") != "PRODUCT":
        return
    version = int(image.get("version", 0))
    if record.dynamodb.new_image is None:  # REMOVE: anything cached is older than the removal
        version += 1
    invalidate(image["product_id"], version)


@logger.inject_lambda_context
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
