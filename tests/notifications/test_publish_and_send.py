"""The orders stream -> OrderEvents bus -> queue -> emails path, on moto (`mock_aws`): the
publisher (functions/notifications/consumers/publish_order_events.py) and the sender
(functions/notifications/consumers/send_notifications.py) with the outbox, SES, retries and dedupe."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.notifications import clients, deliveries, store
from functions.notifications.consumers import publish_order_events, send_notifications
from functions.notifications.messages import BUYER_CONFIRMATION, SELLER_NEW_ORDER
from functions.notifications.order_events import from_stream_record
from functions.notifications.outbox import read_outbox
from functions.notifications.senders import OutboxSender
from functions.notifications.store import PENDING, SENT
from local.lambda_runtime import LambdaContext

from .builders import ORDER_ID, eventbridge_message, order, status_change, stream_record
from .conftest import Shop


def publisher_context() -> LambdaContext:
    return LambdaContext("OrderEventsPublisher", 256, 60, "req-1")


def sender_context() -> LambdaContext:
    """A fresh invocation's context: its remaining time counts from now."""
    return LambdaContext("NotificationSender", 512, 30, "req-1")


ROOT = Path(__file__).resolve().parents[2]
NO_FAILURES = {"batchItemFailures": []}


def _confirmed(shop: Shop, order_id: str = ORDER_ID, version: int = 3) -> dict[str, Any]:
    """The stream record of `order_id` (bought by the pool's buyer from its two sellers) being confirmed."""
    people = {"buyer": shop.users["buyer"], "sellers": (shop.users["seller_a"], shop.users["seller_b"])}
    return status_change("PENDING_PAYMENT", "CONFIRMED", version, order_id=order_id, **people)


def _publish_and_receive(shop: Shop, *records: dict[str, Any]) -> dict[str, Any]:
    """Publish stream records, then the queue's messages as the sender's SQS event."""
    assert publish_order_events.handler({"Records": list(records)}, publisher_context()) == NO_FAILURES
    return shop.sqs_event(shop.receive())


def _outbox_summary(order_id: str = ORDER_ID) -> list[tuple[str, str]]:
    return sorted((message["kind"], message["to"]) for message in read_outbox(order_id))


class _SpyEvents:
    """The real EventBridge client, counting calls; it refuses the entries of chosen event ids."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.real = boto3.client("events")
        self.refuse = set(refuse)
        self.calls: list[int] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(len(Entries))
        refused = [json.loads(entry["Detail"])["event_id"] in self.refuse for entry in Entries]
        accepted = [entry for entry, no in zip(Entries, refused, strict=True) if not no]
        results = iter(self.real.put_events(Entries=accepted)["Entries"] if accepted else [])
        entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} if no else next(results) for no in refused]
        return {"FailedEntryCount": sum(refused), "Entries": entries}


def _spy_on_events(monkeypatch: pytest.MonkeyPatch, refuse: tuple[str, ...] = ()) -> _SpyEvents:
    spy = _SpyEvents(refuse)
    real = clients.client
    monkeypatch.setattr(clients, "client", lambda service: spy if service == "events" else real(service))
    return spy


# --- the publisher --------------------------------------------------------------------------------


def test_status_changes_land_in_the_notification_queue_and_the_rest_do_not(shop: Shop) -> None:
    # GIVEN a stream batch: an order created, a per-seller item, that order confirmed, another cancelled
    seller_item = {"pk": f"ORDER#{ORDER_ID}", "sk": "SELLER#s", "order_id": ORDER_ID, "status": "PENDING_PAYMENT", "version": 1}
    records = [
        stream_record("INSERT", new=order("PENDING_PAYMENT", 2)),
        stream_record("INSERT", new=seller_item),
        status_change("PENDING_PAYMENT", "CONFIRMED", 3),
        status_change("PENDING_PAYMENT", "CANCELLED", 7, order_id="ord_2", reason="payment window expired"),
    ]

    # WHEN the publisher handles it
    response = publish_order_events.handler({"Records": records}, publisher_context())

    # THEN every record succeeded, and exactly the two status changes reached the queue through
    # the bus's rule, as EventBridge events with their detail
    assert response == NO_FAILURES
    bodies = sorted((json.loads(m["Body"]) for m in shop.receive()), key=lambda body: body["detail"]["event_id"])
    assert [(b["source"], b["detail-type"], b["detail"]["event_id"]) for b in bodies] == [
        ("shop.orders", "order.confirmed", f"{ORDER_ID}:3"),
        ("shop.orders", "order.cancelled", "ord_2:7"),
    ]
    assert bodies[1]["detail"]["reason"] == "payment window expired"


def test_refused_entries_and_untranslatable_records_are_the_batch_item_failures(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN three confirmations, EventBridge refusing the second's entry, and a broken fourth record
    records = [status_change("PENDING_PAYMENT", "CONFIRMED", 3, order_id=f"ord_{n}") for n in range(3)]
    broken = order("CONFIRMED", 3, order_id="ord_broken")
    del broken["version"]
    records.append(stream_record("MODIFY", new=broken, old=order("PENDING_PAYMENT", 2, order_id="ord_broken")))
    _spy_on_events(monkeypatch, refuse=("ord_1:3",))

    # WHEN the publisher handles the batch
    response = publish_order_events.handler({"Records": records}, publisher_context())

    # THEN exactly the refused and the broken records are reported, by sequence number
    sequence = [record["dynamodb"]["SequenceNumber"] for record in records]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence[1]}, {"itemIdentifier": sequence[3]}]}
    # AND the others were published
    assert sorted(json.loads(m["Body"])["detail"]["event_id"] for m in shop.receive()) == ["ord_0:3", "ord_2:3"]


def test_a_failed_put_events_call_fails_only_its_own_records(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 12 confirmations (two PutEvents calls) and EventBridge throttling the first call
    from botocore.exceptions import ClientError

    records = [status_change("PENDING_PAYMENT", "CONFIRMED", 3, order_id=f"ord_{n:02d}") for n in range(12)]
    spy = _spy_on_events(monkeypatch)
    real_put = spy.put_events

    def throttle_first_call(Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if not spy.calls:
            spy.calls.append(len(Entries))
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutEvents")
        return real_put(Entries)

    spy.put_events = throttle_first_call  # type: ignore[method-assign]

    # WHEN the publisher handles the batch
    response = publish_order_events.handler({"Records": records}, publisher_context())

    # THEN the calls had 10 and 2 entries; the first call's 10 records failed, the last 2 were published
    assert spy.calls == [10, 2]
    assert response["batchItemFailures"] == [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[:10]]
    assert sorted(json.loads(m["Body"])["detail"]["order_id"] for m in shop.receive()) == ["ord_10", "ord_11"]


def test_events_go_out_in_calls_of_at_most_ten(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 23 confirmations in one stream batch
    records = [status_change("PENDING_PAYMENT", "CONFIRMED", 3, order_id=f"ord_{n:02d}") for n in range(23)]
    spy = _spy_on_events(monkeypatch)
    # WHEN the publisher handles it
    response = publish_order_events.handler({"Records": records}, publisher_context())
    # THEN three PutEvents calls (10, 10, 3) carried all of them to the queue
    assert response == NO_FAILURES
    assert spy.calls == [10, 10, 3]
    assert len(shop.receive()) == 23


def test_the_sample_stream_batch_publishes_its_confirmation(shop: Shop) -> None:
    # GIVEN the sample event (events/notifications/publish_order_events.json)
    event = json.loads((ROOT / "events" / "notifications" / "publish_order_events.json").read_text())
    # WHEN the publisher handles it
    # THEN it succeeds and the queue holds the one confirmation
    assert publish_order_events.handler(event, publisher_context()) == NO_FAILURES
    assert [json.loads(m["Body"])["detail-type"] for m in shop.receive()] == ["order.confirmed"]


# --- the sender -------------------------------------------------------------------------------------


def test_a_confirmation_reaches_the_buyer_and_each_seller_with_only_their_lines(shop: Shop) -> None:
    # GIVEN a confirmed order (2 x 15.00 from seller A, 1 x 9.99 from seller B), published to the queue
    event = _publish_and_receive(shop, _confirmed(shop))

    # WHEN the sender handles the queue's message
    response = send_notifications.handler(event, sender_context())

    # THEN the outbox holds the buyer's confirmation and one notice per seller, at their emails
    assert response == NO_FAILURES
    assert _outbox_summary() == [
        (BUYER_CONFIRMATION, shop.emails["buyer"]),
        (SELLER_NEW_ORDER, shop.emails["seller_a"]),
        (SELLER_NEW_ORDER, shop.emails["seller_b"]),
    ]
    messages = {message["to"]: message for message in read_outbox(ORDER_ID)}
    buyer, seller_a, seller_b = (messages[shop.emails[name]] for name in ("buyer", "seller_a", "seller_b"))
    # AND the buyer's names the order, every line and the total
    assert buyer["subject"] == f"Your order {ORDER_ID} is confirmed"
    assert ORDER_ID in buyer["body"] and "Total: 39.99 USD" in buyer["body"]
    assert "- 2 x Blue Cotton T-Shirt (color: blue, size: M): 30.00 USD" in buyer["body"]
    assert "- 1 x Canvas Tote Bag: 9.99 USD" in buyer["body"]
    # AND each seller sees only their own lines and their subtotal
    assert "Blue Cotton T-Shirt" in seller_a["body"] and "Canvas Tote Bag" not in seller_a["body"]
    assert "Subtotal: 30.00 USD" in seller_a["body"]
    assert "Canvas Tote Bag" in seller_b["body"] and "Blue Cotton T-Shirt" not in seller_b["body"]
    assert "Subtotal: 9.99 USD" in seller_b["body"]
    # AND the outbox items are SENT, keyed by event and recipient, and expire in 90 days
    item = store.get(f"{ORDER_ID}:3", BUYER_CONFIRMATION, shop.users["buyer"])
    assert item.status == SENT and item.channel == "outbox" and item.sent_at
    assert 89 * 86400 < item.expires_at - time.time() <= 90 * 86400


def test_the_same_message_delivered_twice_is_sent_once(shop: Shop) -> None:
    # GIVEN the queue's message of a confirmed order, and the stream batch published twice
    # (a retried stream batch republishes its records: a second message with the same event id)
    first = _publish_and_receive(shop, _confirmed(shop))
    second = _publish_and_receive(shop, _confirmed(shop))
    assert first["Records"][0]["messageId"] != second["Records"][0]["messageId"]

    # WHEN the sender gets the first message twice, then the second message
    responses = [send_notifications.handler(event, sender_context()) for event in (first, first, second)]

    # THEN every delivery succeeds and each of the three notices was sent exactly once
    assert responses == [NO_FAILURES] * 3
    assert len(read_outbox(ORDER_ID)) == 3


def test_a_failing_send_reports_the_message_and_the_next_delivery_sends_only_what_is_missing(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two confirmed orders in one SQS batch, and sending to seller B failing for now
    event = _publish_and_receive(shop, _confirmed(shop, "ord_a"), _confirmed(shop, "ord_b"))
    by_order = {json.loads(r["body"])["detail"]["order_id"]: r["messageId"] for r in event["Records"]}
    real_send = OutboxSender.send

    def failing_for_seller_b(self: OutboxSender, to: str, subject: str, body: str) -> dict[str, str]:
        if to == shop.emails["seller_b"] and "ord_a" in subject:
            raise ConnectionError("mail server unreachable")
        return real_send(self, to, subject, body)

    monkeypatch.setattr(OutboxSender, "send", failing_for_seller_b)

    # WHEN the sender handles the batch
    response = send_notifications.handler(event, sender_context())

    # THEN only ord_a's message is a batch item failure; its other notices went out anyway
    assert response == {"batchItemFailures": [{"itemIdentifier": by_order["ord_a"]}]}
    assert _outbox_summary("ord_a") == [(BUYER_CONFIRMATION, shop.emails["buyer"]), (SELLER_NEW_ORDER, shop.emails["seller_a"])]
    assert len(read_outbox("ord_b")) == 3
    failed = store.get("ord_a:3", SELLER_NEW_ORDER, shop.users["seller_b"])
    assert failed.status == PENDING and "mail server unreachable" in failed.last_error

    # WHEN the mail server is back and the queue redelivers that message
    monkeypatch.setattr(OutboxSender, "send", real_send)
    redelivery = {"Records": [r for r in event["Records"] if r["messageId"] == by_order["ord_a"]]}
    response = send_notifications.handler(redelivery, sender_context())

    # THEN it succeeds, seller B's notice is sent, and nothing was sent twice
    assert response == NO_FAILURES
    assert _outbox_summary("ord_a") == [
        (BUYER_CONFIRMATION, shop.emails["buyer"]),
        (SELLER_NEW_ORDER, shop.emails["seller_a"]),
        (SELLER_NEW_ORDER, shop.emails["seller_b"]),
    ]


def test_a_notice_another_attempt_is_sending_is_left_to_it(shop: Shop) -> None:
    # GIVEN the buyer's confirmation claimed a moment ago by another attempt, still running
    event = _publish_and_receive(shop, _confirmed(shop))
    deliveries.claim(f"{ORDER_ID}:3", BUYER_CONFIRMATION, shop.users["buyer"], ORDER_ID, lease_seconds=60)

    # WHEN the same message is handled here too
    response = send_notifications.handler(event, sender_context())

    # THEN the message fails (to come back later) and the buyer's confirmation was not sent here
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert _outbox_summary() == [(SELLER_NEW_ORDER, shop.emails["seller_a"]), (SELLER_NEW_ORDER, shop.emails["seller_b"])]


def test_a_notice_left_pending_by_a_crashed_attempt_is_sent_after_its_lease(shop: Shop) -> None:
    # GIVEN the buyer's confirmation claimed by an attempt that died before marking it (lease over)
    event = _publish_and_receive(shop, _confirmed(shop))
    deliveries.claim(f"{ORDER_ID}:3", BUYER_CONFIRMATION, shop.users["buyer"], ORDER_ID, lease_seconds=-1)

    # WHEN the queue delivers the message again
    response = send_notifications.handler(event, sender_context())

    # THEN this attempt takes the notice over and sends it
    assert response == NO_FAILURES
    assert (BUYER_CONFIRMATION, shop.emails["buyer"]) in _outbox_summary()
    item = store.get(f"{ORDER_ID}:3", BUYER_CONFIRMATION, shop.users["buyer"])
    assert (item.status, item.attempts) == (SENT, 2)


def test_a_cancellation_tells_the_buyer_why(shop: Shop) -> None:
    # GIVEN an order cancelled because its payment window ran out
    record = status_change("PENDING_PAYMENT", "CANCELLED", 4, buyer=shop.users["buyer"], reason="payment window expired",
                           sellers=(shop.users["seller_a"], shop.users["seller_b"]))
    event = _publish_and_receive(shop, record)

    # WHEN the sender handles it
    assert send_notifications.handler(event, sender_context()) == NO_FAILURES

    # THEN only the buyer is told, with the reason and the total
    [message] = read_outbox(ORDER_ID)
    assert (message["kind"], message["to"]) == ("order-cancelled", shop.emails["buyer"])
    assert message["subject"] == f"Your order {ORDER_ID} was cancelled"
    assert "Reason: payment window expired" in message["body"] and "Total: 39.99 USD" in message["body"]


def test_a_recipient_without_an_account_is_skipped_not_retried(shop: Shop) -> None:
    # GIVEN an order shipped to a buyer whose account has been deleted
    record = status_change("CONFIRMED", "SHIPPED", 5, buyer="deleted-user-sub")
    event = shop.sqs_event([eventbridge_message("order.shipped", from_stream_record(record)["detail"])])

    # WHEN the sender handles it (twice: a retry must not try again either)
    responses = [send_notifications.handler(event, sender_context()) for _ in range(2)]

    # THEN the message is done, nothing is in the outbox, and the notice is recorded as skipped
    assert responses == [NO_FAILURES, NO_FAILURES]
    assert read_outbox(ORDER_ID) == []
    item = store.get(f"{ORDER_ID}:5", "order-shipped", "deleted-user-sub")
    assert item.status == "SKIPPED"


def test_an_event_nobody_is_told_about_is_done(shop: Shop) -> None:
    # GIVEN a message of a detail type without notices
    event = shop.sqs_event([eventbridge_message("order.delivered", {"event_id": "ord_9:9", "order_id": "ord_9"})])
    # WHEN the sender handles it
    # THEN it succeeds and sends nothing
    assert send_notifications.handler(event, sender_context()) == NO_FAILURES
    assert read_outbox() == []


def test_an_unreadable_message_is_a_batch_item_failure(shop: Shop) -> None:
    # GIVEN a message whose body is not JSON, next to a good one
    good = _publish_and_receive(shop, _confirmed(shop))["Records"][0]
    bad = {**good, "messageId": "broken", "body": "not json"}
    # WHEN the sender handles both
    response = send_notifications.handler({"Records": [bad, good]}, sender_context())
    # THEN only the unreadable one fails (the queue parks it after 5 receives)
    assert response == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert len(read_outbox(ORDER_ID)) == 3


def test_with_ses_the_mail_goes_through_ses_and_the_table_keeps_only_its_id(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the SES sender, from a verified domain
    domain = f"shop-{shop.suffix}.example.com"
    monkeypatch.setenv("NOTIFICATION_SENDER", "ses")
    monkeypatch.setenv("NOTIFICATION_FROM_ADDRESS", f"orders@{domain}")
    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity=domain)
    event = _publish_and_receive(shop, _confirmed(shop))

    # WHEN the sender handles a confirmation
    response = send_notifications.handler(event, sender_context())
    ses.delete_email_identity(EmailIdentity=domain)

    # THEN SES sent the three mails from that address
    from moto.ses.models import ses_backends

    assert response == NO_FAILURES
    sent = [m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if m.source == f"orders@{domain}"]
    assert sorted(m.destinations["ToAddresses"][0] for m in sent) == sorted(shop.emails.values())
    # AND the table records SES's message ids, not the mails (and the outbox stays empty)
    item = store.get(f"{ORDER_ID}:3", BUYER_CONFIRMATION, shop.users["buyer"])
    assert (item.status, item.channel, item.body, item.to) == (SENT, "ses", None, None) and item.message_id
    assert read_outbox() == []


def test_an_unknown_sender_setting_fails_the_invocation(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN NOTIFICATION_SENDER set to something that is neither ses nor outbox
    monkeypatch.setenv("NOTIFICATION_SENDER", "smtp")
    event = _publish_and_receive(shop, _confirmed(shop))
    # WHEN the sender is invoked
    # THEN it raises (Lambda retries the whole batch; mail never silently goes nowhere)
    with pytest.raises(RuntimeError, match="NOTIFICATION_SENDER"):
        send_notifications.handler(event, sender_context())


def test_the_sample_sqs_batch_is_processed(shop: Shop) -> None:
    # GIVEN the sample event (events/notifications/send_notifications.json), its placeholder user
    # ids swapped for the pool's users
    text = (ROOT / "events" / "notifications" / "send_notifications.json").read_text()
    for placeholder, name in (("11111111-1111-4111-8111-111111111111", "buyer"), ("22222222-2222-4222-8222-222222222222", "seller_a"),
                              ("33333333-3333-4333-8333-333333333333", "seller_b")):
        text = text.replace(placeholder, shop.users[name])
    # WHEN the sender handles it
    # THEN it succeeds and the buyer and both sellers have their mail
    assert send_notifications.handler(json.loads(text), sender_context()) == NO_FAILURES
    assert len(read_outbox("ord_01KAXYZ0000000000000000001")) == 3


def test_a_claim_is_leased_for_as_long_as_the_invocation_can_run() -> None:
    # GIVEN a Lambda context of a function with a 30 s timeout, and no context at all
    context = sender_context()
    # WHEN the lease of a claim is computed
    # THEN it covers the invocation's remaining time plus a margin; without a context, a default
    assert 30 < send_notifications.lease_seconds(context) <= 30 + send_notifications.LEASE_MARGIN_SECONDS
    assert send_notifications.lease_seconds(None) == send_notifications.DEFAULT_LEASE_SECONDS
