"""Each notice sent once per event and recipient in the normal case, and at least once always.

The queue and the stream both deliver at least once, and a retried stream batch publishes its
events again, so the same notice can arrive many times. Before sending, an attempt *claims* the
notice: a conditional put of `NOTIFICATION#<event_id>` / `<kind>#<recipient>` as PENDING with a
lease (how long this invocation can still run). Then it sends and marks the notice SENT.

- Found SENT (or SKIPPED): done before; nothing is sent.
- Found PENDING with a live lease: another attempt is sending it right now (SQS can hand one
  message to two consumers); this one fails with `InFlight` and the queue redelivers later,
  when the notice is SENT or the lease has run out.
- Found PENDING with an expired lease: the attempt that claimed it died (or gave up, see
  `release`) between claiming and marking. This attempt takes it over (conditional on the old
  attempt's id, so one of several takers wins) and sends: a crash between sending and marking
  sends twice; that is the "at least once".
"""

from __future__ import annotations

import time
import uuid

from pynamodb.exceptions import PutError, UpdateError

from functions.notifications.store import PENDING, SENT, SKIPPED, NotificationItem
from shared.attributes import now_iso
from shared.observability import logger
from shared.tables import is_condition_failure

KEEP_SECONDS = 90 * 24 * 3600  # notices (and so the dedupe) are kept 90 days, then TTL'd


class InFlight(RuntimeError):
    """Another attempt holds the notice; retry later."""


def claim(
    event_id: str, kind: str, recipient_id: str, order_id: str, lease_seconds: float, now: float | None = None
) -> NotificationItem | None:
    """The notice, claimed by this attempt (PENDING); None if it was already sent or skipped."""
    now = time.time() if now is None else now
    item = NotificationItem(
        NotificationItem.key(event_id),
        NotificationItem.sort_key(kind, recipient_id),
        event_id=event_id,
        kind=kind,
        recipient_id=recipient_id,
        order_id=order_id,
        status=PENDING,
        attempt=uuid.uuid4().hex,
        attempts=1,
        lease_until=now + lease_seconds,
        created_at=now_iso(),
        expires_at=int(now + KEEP_SECONDS),
    )
    try:
        item.save(condition=NotificationItem.pk.does_not_exist())
        return item
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
    existing = NotificationItem.get(item.pk, item.sk, consistent_read=True)
    if existing.status != PENDING:
        return None
    if existing.lease_until > now:
        raise InFlight(f"{item.pk} {item.sk} is being sent by attempt {existing.attempt}")
    try:
        existing.update(
            actions=[
                NotificationItem.attempt.set(item.attempt),
                NotificationItem.attempts.add(1),
                NotificationItem.lease_until.set(item.lease_until),
            ],
            condition=(NotificationItem.status == PENDING) & (NotificationItem.attempt == existing.attempt),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        raise InFlight(f"{item.pk} {item.sk} was taken over by another attempt") from exc
    logger.info("took over a notice an earlier attempt left pending", extra={"pk": item.pk, "sk": item.sk, "attempts": existing.attempts})
    return existing


def mark_sent(item: NotificationItem, channel: str, recorded: dict[str, str]) -> None:
    """SENT, with what the sender asks to keep (the outbox: to, subject, body; SES: message id)."""
    actions = [NotificationItem.status.set(SENT), NotificationItem.sent_at.set(now_iso()), NotificationItem.channel.set(channel)]
    actions += [getattr(NotificationItem, name).set(value) for name, value in recorded.items()]
    # Unconditional (but never re-creating a TTL'd item): if a taker sent it too, it is sent.
    item.update(actions=actions, condition=NotificationItem.pk.exists())


def mark_skipped(item: NotificationItem, reason: str) -> None:
    """Done without sending: retrying cannot help (the recipient has no account or no email)."""
    item.update(
        actions=[NotificationItem.status.set(SKIPPED), NotificationItem.last_error.set(reason)],
        condition=NotificationItem.pk.exists(),
    )


def release(item: NotificationItem, error: BaseException) -> None:
    """Give the notice up after a failed send: the lease ends now, so the queue's next delivery
    takes it over at once instead of waiting for the lease. Best effort: if this fails too, the
    lease still runs out."""
    try:
        item.update(
            actions=[NotificationItem.lease_until.set(0), NotificationItem.last_error.set(f"{type(error).__name__}: {error}"[:500])],
            condition=NotificationItem.attempt == item.attempt,
        )
    except Exception:  # noqa: BLE001 - the send's own error is the one to report
        logger.warning("could not release a notice; its lease will run out", extra={"pk": item.pk, "sk": item.sk}, exc_info=True)
