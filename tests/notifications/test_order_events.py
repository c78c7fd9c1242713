"""functions/notifications/order_events.py: orders stream record -> domain event, or None."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.notifications.order_events import from_stream_record

from .builders import BUYER, ORDER_ID, SELLER_A, SELLER_B, order, status_change, stream_record

ROOT = Path(__file__).resolve().parents[2]


def test_an_order_created_pending_payment_is_no_event() -> None:
    # GIVEN the INSERT of a new order waiting for its payment
    record = stream_record("INSERT", new=order("PENDING_PAYMENT", 1))
    # WHEN it is translated
    # THEN nobody is told anything yet
    assert from_stream_record(record) is None


def test_a_confirmed_order_is_an_order_confirmed_event_with_the_whole_detail() -> None:
    # GIVEN the header moving PENDING_PAYMENT -> CONFIRMED at version 3, its history saying when
    history = [
        {"status": "PENDING_PAYMENT", "at": "2026-11-22T10:00:01.000Z"},
        {"status": "CONFIRMED", "at": "2026-11-22T10:03:12.000Z"},
    ]
    record = status_change("PENDING_PAYMENT", "CONFIRMED", 3, history=history)

    # WHEN it is translated
    event = from_stream_record(record)

    # THEN it is order.confirmed from shop.orders, identified by order id and version, with the
    # buyer, the lines, the sellers and the amount as plain JSON values (numbers as int)
    assert event == {
        "source": "shop.orders",
        "detail_type": "order.confirmed",
        "detail": {
            "event_id": f"{ORDER_ID}:3",
            "order_id": ORDER_ID,
            "user_id": BUYER,
            "status": "CONFIRMED",
            "previous_status": "PENDING_PAYMENT",
            "reason": None,
            "at": "2026-11-22T10:03:12.000Z",
            "total": 3999,
            "currency": "USD",
            "items": [
                {"sku_id": "sku_1", "product_id": "prd_1", "seller_id": SELLER_A, "title": "Blue Cotton T-Shirt",
                 "options": {"size": "M", "color": "blue"}, "quantity": 2, "unit_price": 1500, "currency": "USD"},
                {"sku_id": "sku_2", "product_id": "prd_2", "seller_id": SELLER_B, "title": "Canvas Tote Bag",
                 "options": {}, "quantity": 1, "unit_price": 999, "currency": "USD"},
            ],
            "seller_ids": [SELLER_A, SELLER_B],
            "shipments": {},
        },
    }
    assert isinstance(event["detail"]["total"], int) and isinstance(event["detail"]["items"][0]["quantity"], int)
    json.dumps(event)  # EventBridge gets it as JSON: no Decimal may be left


def test_a_write_that_keeps_the_status_is_no_event() -> None:
    # GIVEN a MODIFY of a confirmed order that stays CONFIRMED (e.g. a payment reference added)
    record = status_change("CONFIRMED", "CONFIRMED", 4)
    # WHEN it is translated
    # THEN it is no event: the confirmation was announced by the write that made it
    assert from_stream_record(record) is None


def test_an_item_other_than_the_order_header_is_no_event() -> None:
    # GIVEN a per-seller item of the order whose own status changes
    seller_item = {"pk": f"ORDER#{ORDER_ID}", "sk": f"SELLER#{SELLER_A}", "order_id": ORDER_ID, "version": 2}
    record = stream_record("MODIFY", new={**seller_item, "status": "CONFIRMED"}, old={**seller_item, "status": "PENDING_PAYMENT"})
    # WHEN it is translated
    # THEN it is ignored: only the header speaks for the order
    assert from_stream_record(record) is None


def test_a_removed_order_is_no_event() -> None:
    # GIVEN the REMOVE of a confirmed order's header
    record = stream_record("REMOVE", old=order("CONFIRMED", 3))
    # WHEN it is translated
    # THEN it is no event
    assert from_stream_record(record) is None


@pytest.mark.parametrize(
    "old_status,new_status,detail_type",
    [
        ("PENDING_PAYMENT", "CANCELLED", "order.cancelled"),
        ("PROCESSING", "FAILED", "order.failed"),
        ("CONFIRMED", "SHIPPED", "order.shipped"),
        ("SHIPPED", "DELIVERED", None),
        ("PROCESSING", "PENDING_PAYMENT", None),
    ],
)
def test_each_status_change_has_its_event_or_none(old_status: str, new_status: str, detail_type: str | None) -> None:
    # GIVEN the header moving between two statuses
    record = status_change(old_status, new_status, 5)
    # WHEN it is translated
    event = from_stream_record(record)
    # THEN the statuses someone is told about are events of their own type, the others are None
    assert (event and event["detail_type"]) == detail_type
    if event:
        assert (event["detail"]["status"], event["detail"]["previous_status"]) == (new_status, old_status)


def test_a_cancellation_carries_its_reason_and_time_from_the_order() -> None:
    # GIVEN an order cancelled because its payment window ran out (reason on the item and in history)
    history = [
        {"status": "PENDING_PAYMENT", "at": "2026-11-22T10:00:01.000Z"},
        {"status": "CANCELLED", "at": "2026-11-22T10:15:01.000Z", "reason": "payment window expired"},
    ]
    record = status_change("PENDING_PAYMENT", "CANCELLED", 4, reason="payment window expired", history=history)
    # WHEN it is translated
    detail = from_stream_record(record)["detail"]
    # THEN the reason and the time of the cancellation are in the detail
    assert (detail["reason"], detail["at"]) == ("payment window expired", "2026-11-22T10:15:01.000Z")


def test_an_order_inserted_with_a_notified_status_is_an_event_without_previous_status() -> None:
    # GIVEN an order written for the first time already FAILED (e.g. the cart's prices changed)
    record = stream_record("INSERT", new=order("FAILED", 1, reason="prices changed"))
    # WHEN it is translated
    detail = from_stream_record(record)["detail"]
    # THEN it is announced, with no previous status
    assert (detail["status"], detail["previous_status"], detail["reason"]) == ("FAILED", None, "prices changed")


def test_a_header_without_a_version_fails_loudly() -> None:
    # GIVEN a confirmed header without a version (so no event id could be given to it)
    new = order("CONFIRMED", 3)
    del new["version"]
    record = stream_record("MODIFY", new=new, old=order("PENDING_PAYMENT", 2))
    # WHEN it is translated
    # THEN it raises (the publisher fails that record alone, and the batch is parked after retries)
    with pytest.raises(KeyError):
        from_stream_record(record)


def test_the_sample_stream_batch_holds_exactly_one_confirmation() -> None:
    # GIVEN the sample event (events/notifications/publish_order_events.json)
    records = json.loads((ROOT / "events" / "notifications" / "publish_order_events.json").read_text())["Records"]
    # WHEN each record is translated
    events = [from_stream_record(record) for record in records]
    # THEN the order's creation and its seller item are no events, its confirmation is one
    assert [event and event["detail_type"] for event in events] == [None, None, "order.confirmed"]
    assert events[2]["detail"]["event_id"] == "ord_01KAXYZ0000000000000000001:3"
