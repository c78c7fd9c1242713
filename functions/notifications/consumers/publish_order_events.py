"""Orders stream -> the `OrderEvents` bus (env EVENT_BUS_NAME): one domain event per status
change that someone is told about (functions/notifications/order_events.py).

Records that translate to None are done. The rest go out in PutEvents calls of at most 10
entries and 256 KB; an entry EventBridge refused (its ErrorCode), a call that failed as a whole,
or a record that could not be translated fails exactly those records in `batchItemFailures`:
Lambda retries from the first of them, then parks the batch on the mapping's on-failure queue.
A retry publishes the later records of the batch again, which is why every event carries
`event_id` and the sender deduplicates on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.notifications import clients
from functions.notifications.order_events import from_stream_record
from shared.observability import logger
from shared.stream_batches import apply_in_bulk, partial_batch_response

MAX_ENTRIES = 10  # PutEvents' limit per call
MAX_REQUEST_BYTES = 256 * 1024  # PutEvents' limit per call, as EventBridge counts entry sizes


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, context, publish_records(event.get("Records") or []), "published order events")


def publish_records(records: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """Sequence number -> outcome (None: done, else why not) for Lambda-shaped stream records."""
    return apply_in_bulk(
        records, from_stream_record, put_events,
        lambda event: {"event_id": event["detail"]["event_id"], "detail_type": event["detail_type"]}, "order event",
    )


def put_events(events: Sequence[dict[str, Any]]) -> list[str | None]:
    """Put translated events on the bus; per event None (accepted) or why it was not."""
    bus = os.environ["EVENT_BUS_NAME"]  # missing = misconfigured: fail the whole batch, loudly
    entries = [
        {"Source": e["source"], "DetailType": e["detail_type"], "Detail": json.dumps(e["detail"]), "EventBusName": bus}
        for e in events
    ]
    outcomes: list[str | None] = []
    for chunk in _chunks(entries):
        try:
            response = clients.client("events").put_events(Entries=chunk)
        except (BotoCoreError, ClientError) as exc:
            # Throttling or an outage fails this call's records only; the other chunks stand.
            outcomes.extend([f"PutEvents failed: {exc}"] * len(chunk))
            continue
        for result in response["Entries"]:
            code = result.get("ErrorCode")
            outcomes.append(f"{code}: {result.get('ErrorMessage', '')}" if code else None)
    logger.debug("put order events", extra={"events": len(entries), "failed": sum(o is not None for o in outcomes)})
    return outcomes


def _chunks(entries: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive runs of entries within both PutEvents limits (a lone entry over the size
    limit still goes alone: EventBridge then refuses that entry, not its neighbours)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = _entry_size(entry)
        if chunk and (len(chunk) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


def _entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's documented size of an entry: the UTF-8 bytes of its Source, DetailType and
    Detail (no Time or Resources are sent)."""
    return sum(len(entry[name].encode()) for name in ("Source", "DetailType", "Detail"))
