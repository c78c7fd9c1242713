"""Answering a DynamoDB stream batch that a consumer handled as a whole (one bulk request, one
cache script) and judged record by record: `{sequence number: None (done) | why not}` becomes
Lambda's partial batch response, so exactly the failed records are retried, then parked on the
mapping's on-failure queue. Nothing is swallowed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.observability import logger

# Report a wholly failed batch as failures rather than raising: the response then names every
# record (Lambda retries the same either way, but the log and the report stay explicit).
_processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class RecordFailed(RuntimeError):
    """A record the consumer could not apply; the batch processor reports it."""


def partial_batch_response(event: dict[str, Any], context: Any, outcomes: Mapping[str, str | None], done: str) -> dict[str, Any]:
    """Lambda's answer for `event`, given each record's outcome; logs `done` with the counts."""

    def check(record: DynamoDBRecord) -> None:
        reason = outcomes.get(record.dynamodb.sequence_number if record.dynamodb else "")
        if reason is not None:
            raise RecordFailed(reason)

    response = process_partial_response(event=event, record_handler=check, processor=_processor, context=context)
    failed = len(response.get("batchItemFailures") or [])
    logger.info(done, extra={"records": len(event.get("Records") or []), "failed": failed})
    return response
