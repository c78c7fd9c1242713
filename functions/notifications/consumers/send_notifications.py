"""Notification queue -> email: each SQS message is an EventBridge order event; its notices
(functions/notifications/messages.py) are claimed, sent and marked one by one
(functions/notifications/deliveries.py), to addresses looked up in Cognito.

A message whose notices all went out (or had gone out before) is done; one with any notice
that failed is reported in `batchItemFailures`, so only that message comes back, after the
visibility timeout, and only its unsent notices are sent then. After 5 receives the queue moves
it to its dead-letter queue. A message nobody is told about (another detail type) is done.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.notifications import deliveries, recipients
from functions.notifications.messages import notices_for
from functions.notifications.senders import Sender, get_sender
from shared.observability import logger

DEFAULT_LEASE_SECONDS = 60.0  # without a Lambda context (a script, a test)
LEASE_MARGIN_SECONDS = 5.0

# As for the streams: a wholly failed batch is reported, not raised (the same retry either way).
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

Finder = Callable[[str], "recipients.Recipient | None"]


class NoticesFailed(RuntimeError):
    """Some notices of a message were not sent; the message is retried for them."""


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sender = get_sender()
    lease = lease_seconds(context)
    find = cache(recipients.find)  # a seller with many orders in a batch is looked up once

    def record_handler(record: SQSRecord) -> None:
        deliver(json.loads(record.body), sender=sender, find=find, lease=lease)

    response = process_partial_response(event=event, record_handler=record_handler, processor=_processor, context=context)
    failed = len(response.get("batchItemFailures") or [])
    logger.info("sent order notifications", extra={"messages": len(event.get("Records") or []), "failed": failed})
    return response


def lease_seconds(context: Any) -> float:
    """How long a claim made now may be held: this invocation can run no longer than that."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 + LEASE_MARGIN_SECONDS if remaining else DEFAULT_LEASE_SECONDS


def deliver(
    event: Mapping[str, Any], *, sender: Sender, find: Finder = recipients.find, lease: float = DEFAULT_LEASE_SECONDS
) -> int:
    """Send the notices an EventBridge event calls for that were not sent before; how many were
    sent now. Every notice is tried; if any failed, raises NoticesFailed after the others."""
    detail_type, detail = event.get("detail-type", ""), event.get("detail") or {}
    notices = notices_for(detail_type, detail)
    if not notices:
        logger.info("no notices for this event", extra={"detail_type": detail_type})
        return 0
    sent, failures = 0, []
    for notice in notices:
        context = {"event_id": detail["event_id"], "kind": notice.kind, "recipient_id": notice.recipient_id}
        try:
            item = deliveries.claim(detail["event_id"], notice.kind, notice.recipient_id, detail["order_id"], lease)
        except Exception as exc:  # noqa: BLE001 - reported below; the other notices still go
            logger.warning("cannot claim a notice", extra={**context, "error": str(exc)})
            failures.append(exc)
            continue
        if item is None:
            continue  # sent (or skipped) by an earlier delivery
        try:
            recipient = find(notice.recipient_id)
            if recipient is None:
                logger.warning("no address for a notice's recipient; skipped", extra=context)
                deliveries.mark_skipped(item, "no such user, or no email")
                continue
            recorded = sender.send(recipient.email, notice.subject, notice.body)
        except Exception as exc:  # noqa: BLE001 - released and reported below
            logger.warning("cannot send a notice", extra={**context, "error": str(exc)}, exc_info=True)
            deliveries.release(item, exc)
            failures.append(exc)
            continue
        try:
            deliveries.mark_sent(item, sender.channel, recorded)
        except Exception as exc:  # noqa: BLE001 - sent but unmarked: sent again after the lease
            logger.warning("sent a notice but cannot mark it", extra={**context, "error": str(exc)})
            failures.append(exc)
            continue
        sent += 1
    if failures:
        raise NoticesFailed(f"{len(failures)} of {len(notices)} notices not sent: {failures[0]}") from failures[0]
    return sent
