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

from functions.notifications import store
from functions.notifications.store import PENDING, Notification
from shared.attributes import now_iso
from shared.observability import logger

KEEP_SECONDS = 90 * 24 * 3600  # notices (and so the dedupe) are kept 90 days, then TTL'd

class InFlight(RuntimeError):
    """Another attempt holds the notice; retry later."""


def claim(
    event_id: str, kind: str, recipient_id: str, order_id: str, lease_seconds: float, now: float | None = None
) -> Notification | None:
    """The notice, claimed by this attempt (PENDING); None if it was already sent or skipped."""
    now = time.time() if now is None else now
    notice = Notification(
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
    if store.put_new(notice):
        return notice
    existing = store.get(event_id, kind, recipient_id)
    if existing is None:  # TTL'd between the two calls: the queue's next delivery claims it anew
        raise InFlight(f"{notice.pk} {notice.sk} vanished while being claimed")
    if existing.status != PENDING:
        return None
    if existing.lease_until > now:
        raise InFlight(f"{notice.pk} {notice.sk} is being sent by attempt {existing.attempt}")
    taken = store.take_over(existing, notice.attempt, notice.lease_until)
    if taken is None:
        raise InFlight(f"{notice.pk} {notice.sk} was taken over by another attempt")
    logger.info("took over a notice an earlier attempt left pending", extra={"pk": notice.pk, "sk": notice.sk, "attempts": taken.attempts})
    return taken


def mark_sent(notice: Notification, channel: str, recorded: dict[str, str]) -> None:
    """SENT, with what the sender asks to keep (the outbox: to, subject, body; SES: message id)."""
    # Unconditional (but never re-creating a TTL'd item): if a taker sent it too, it is sent.
    store.mark_sent(notice, channel, now_iso(), recorded)


def mark_skipped(notice: Notification, reason: str) -> None:
    """Done without sending: retrying cannot help (the recipient has no account or no email)."""
    store.mark_skipped(notice, reason)


def release(notice: Notification, error: BaseException) -> None:
    """Give the notice up after a failed send: the lease ends now, so the queue's next delivery
    takes it over at once instead of waiting for the lease. Best effort: if this fails too, the
    lease still runs out."""
    try:
        store.release(notice, f"{type(error).__name__}: {error}"[:500])
    except Exception:  # noqa: BLE001 - the send's own error is the one to report
        logger.warning("could not release a notice; its lease will run out", extra={"pk": notice.pk, "sk": notice.sk}, exc_info=True)
