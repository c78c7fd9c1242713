"""Answering a DynamoDB stream batch that a consumer handled as a whole (one bulk request, one
cache script) and judged record by record: `{sequence number: None (done) | why not}` becomes
Lambda's partial batch response, so exactly the failed records are retried, then parked on the
mapping's on-failure queue. Nothing is swallowed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.observability import logger

T = TypeVar("T")

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


def apply_in_bulk(
    records: Sequence[dict[str, Any]],
    translate: Callable[[dict[str, Any]], T | None],
    apply: Callable[[list[T]], list[str | None]],
    describe: Callable[[T], dict[str, Any]],
    what: str,
) -> dict[str, str | None]:
    """Sequence number -> outcome for Lambda-shaped records: each record is translated (None:
    nothing to do; an exception fails that record alone, loudly), then all are applied in ONE
    call that answers an outcome per item, in order."""
    outcomes: dict[str, str | None] = {}
    pending: list[tuple[str, T]] = []
    for record in records:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            item = translate(record)
        except Exception as exc:
            logger.exception(f"cannot translate {what} record", extra={"sequence_number": sequence})
            outcomes[sequence] = f"untranslatable record: {exc}"
            continue
        if item is None:
            outcomes[sequence] = None
        else:
            pending.append((sequence, item))
    if pending:
        results = apply([item for _, item in pending])
        for (sequence, item), reason in zip(pending, results, strict=True):
            if reason is not None:
                logger.warning(f"{what} write failed", extra={"sequence_number": sequence, **describe(item), "reason": reason})
            outcomes[sequence] = reason
    return outcomes
