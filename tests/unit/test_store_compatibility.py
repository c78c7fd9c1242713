"""The identity and notifications stores (low-level client, ADR 0042) read and write the items the
pynamodb models they replaced read and wrote: no migration. The old models are defined here as
they were; each item is written one way and read the other, and the same change made both ways
leaves the same item on the table (moto in this process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from functions.identity import store as identity
from functions.identity import throttle
from functions.identity.profiles import to_view
from functions.notifications import deliveries, outbox
from functions.notifications import store as notifications
from shared.attributes import from_utc_string, to_utc_string
from shared.tables import connection, is_condition_failure
from tests.support.pynamodb_meta import table_meta

# -- the models as they were (functions/identity/store.py, functions/notifications/store.py) --------


class OldAddress(MapAttribute):
    label = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute()
    country = UnicodeAttribute()


class OldProfile(Model):
    class Meta(table_meta("IDENTITY_TABLE_NAME", "identity")):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PROFILE")
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    roles = ListAttribute(of=UnicodeAttribute, default=list)
    phone = UnicodeAttribute(null=True)
    addresses = ListAttribute(of=OldAddress, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class OldThrottle(Model):
    class Meta(table_meta("IDENTITY_TABLE_NAME", "identity")):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="LOGIN")
    failures = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    lockouts = NumberAttribute(default=0)
    expires_at = NumberAttribute()


class OldNotification(Model):
    class Meta(table_meta("NOTIFICATIONS_TABLE_NAME", "notifications")):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    recipient_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    attempt = UnicodeAttribute()
    attempts = NumberAttribute(default=1)
    lease_until = NumberAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()
    channel = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)


def old_view(item: OldProfile) -> dict[str, Any]:
    """functions/identity/profiles.py `to_view` as it was."""
    return {
        "user_id": item.user_id, "email": item.email, "name": item.name, "roles": sorted(item.roles or []), "phone": item.phone,
        "addresses": [address.as_dict() for address in (item.addresses or [])], "created_at": item.created_at.isoformat(),
    }


def old_record_failure(key: str, limit: int, now: int, max_lock_seconds: int = throttle.MAX_LOCK_SECONDS) -> bool:
    """functions/identity/throttle.py `record_failure` as it was."""
    item = OldThrottle(key, "LOGIN")
    cutoff = now - throttle.WINDOW_SECONDS
    for _ in range(3):
        try:
            item.update(actions=[OldThrottle.failures.add(1), OldThrottle.expires_at.set(now + throttle.KEEP_SECONDS)],
                        condition=OldThrottle.window_start >= cutoff)  # fmt: skip
            break
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
        try:
            item.update(
                actions=[OldThrottle.failures.set(1), OldThrottle.window_start.set(now), OldThrottle.expires_at.set(now + throttle.KEEP_SECONDS)],
                condition=OldThrottle.window_start.does_not_exist() | (OldThrottle.window_start < cutoff),
            )
            break
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
    if item.failures < limit:
        return False
    try:
        item.update(
            actions=[
                OldThrottle.locked_until.set(now + throttle.lock_seconds(int(item.lockouts or 0), max_lock_seconds)),
                OldThrottle.lockouts.add(1), OldThrottle.failures.set(0), OldThrottle.window_start.set(now),
                OldThrottle.expires_at.set(now + throttle.KEEP_SECONDS),
            ],
            condition=(OldThrottle.failures >= limit) & (OldThrottle.locked_until.does_not_exist() | (OldThrottle.locked_until <= now)),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


# -- the tables -----------------------------------------------------------------------------------


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # Names of their own: in a process that also runs a local stack, moto's backends are that stack's.
    names = {"IDENTITY_TABLE_NAME": f"identity-{uuid.uuid4().hex[:12]}", "NOTIFICATIONS_TABLE_NAME": f"notifications-{uuid.uuid4().hex[:12]}"}
    for variable, name in names.items():
        monkeypatch.setenv(variable, name)
    with mock_aws():
        client = boto3.client("dynamodb")
        for name in names.values():
            client.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            )
        _forget_connections()
        yield client
        _forget_connections()
        for name in names.values():
            client.delete_table(TableName=name)


def _forget_connections() -> None:
    connection.cache_clear()
    for model in (OldProfile, OldThrottle, OldNotification):
        model._connection = None


def _raw(client: Any, table_variable: str, pk: str, sk: str) -> dict[str, Any]:
    import os

    return client.get_item(TableName=os.environ[table_variable], Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)["Item"]


def _without_key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != "pk"}


# -- profiles -------------------------------------------------------------------------------------

ADDRESSES = [
    {"label": None, "name": "Ada Lovelace", "line1": "12 Ada Street", "line2": "", "city": "London", "region": None,
     "postal_code": "N1 9GU", "country": "GB"},
    {"label": "work", "name": "Ada", "line1": "1 Main St", "line2": "Floor 2", "city": "Springfield", "region": "IL",
     "postal_code": "62701", "country": "US"},
]  # fmt: skip


def test_a_profile_written_by_the_old_model_reads_back_as_the_same_view(tables) -> None:
    # GIVEN profiles the pynamodb model wrote: one with a phone, addresses (unset and empty
    # fields) and a whole-second time, one with nothing optional
    whole_second = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    old = [
        OldProfile("USER#u1", user_id="u1", email="a@example.com", name="Ada", roles=["seller", "customer"], phone="+4915112345678",
                   addresses=[OldAddress(**a) for a in ADDRESSES], created_at=whole_second, updated_at=datetime.now(UTC)),
        OldProfile("USER#u2", user_id="u2", email="b@example.com", name="Bob", created_at=datetime.now(UTC), updated_at=datetime.now(UTC)),
    ]  # fmt: skip
    for item in old:
        item.save()
    for item in old:
        # WHEN the new store reads it
        profile = identity.get_profile(item.user_id)
        # THEN it is the view the old model gave, with the same datetimes (aware, UTC)
        assert profile is not None
        assert to_view(profile) == old_view(OldProfile.get(item.pk, "PROFILE", consistent_read=True))
        assert (profile.created_at, profile.updated_at) == (item.created_at, item.updated_at)
        assert profile.created_at.tzinfo is not None and profile.created_at.utcoffset() == timedelta(0)
    assert to_view(identity.get_profile("u1"))["created_at"] == "2025-03-04T05:06:07+00:00"
    assert to_view(identity.get_profile("u1"))["addresses"][0] == {
        "name": "Ada Lovelace", "line1": "12 Ada Street", "line2": "", "city": "London", "postal_code": "N1 9GU", "country": "GB"}


def test_a_profile_written_by_the_new_store_is_the_item_the_old_model_wrote(tables) -> None:
    # GIVEN the same profile written by the new store and by the old model
    created = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    new = identity.Profile(user_id="n1", email="a@example.com", name="Ada", roles=["customer"], phone="+4915112345678",
                           addresses=[dict(a) for a in ADDRESSES], created_at=created, updated_at=created)  # fmt: skip
    assert identity.put_new_profile(new)
    OldProfile("USER#o1", user_id="n1", email="a@example.com", name="Ada", roles=["customer"], phone="+4915112345678",
               addresses=[OldAddress(**a) for a in ADDRESSES], created_at=created, updated_at=created).save()  # fmt: skip
    # THEN the two items are alike attribute for attribute (no NULLs, addresses with set fields only)
    written = _raw(tables, "IDENTITY_TABLE_NAME", "USER#n1", "PROFILE")
    assert _without_key(written) == _without_key(_raw(tables, "IDENTITY_TABLE_NAME", "USER#o1", "PROFILE"))
    assert written["created_at"] == {"S": "2025-03-04T05:06:07.891011+0000"} and written["roles"] == {"L": [{"S": "customer"}]}
    # AND the old model reads it as the new store does
    assert old_view(OldProfile.get("USER#n1", "PROFILE", consistent_read=True)) == to_view(identity.get_profile("n1"))
    # AND a second create leaves the first
    assert not identity.put_new_profile(identity.Profile(user_id="n1", email="x", name="x", created_at=created, updated_at=created))
    assert identity.get_profile("n1").email == "a@example.com"
    # AND a profile with nothing optional is written with empty lists and no phone, as before
    bare = identity.Profile(user_id="n2", email="b@example.com", name="Bob", created_at=created, updated_at=created)
    identity.put_new_profile(bare)
    OldProfile("USER#o2", user_id="n2", email="b@example.com", name="Bob", created_at=created, updated_at=created).save()
    assert _without_key(_raw(tables, "IDENTITY_TABLE_NAME", "USER#n2", "PROFILE")) == _without_key(
        _raw(tables, "IDENTITY_TABLE_NAME", "USER#o2", "PROFILE"))


def test_a_profile_update_changes_the_item_as_the_old_update_did(tables) -> None:
    # GIVEN twin profiles with a phone and addresses
    created = datetime(2025, 1, 1, tzinfo=UTC)
    for user_id in ("a", "b"):
        OldProfile(f"USER#{user_id}", user_id=user_id, email="a@example.com", name="Ada", roles=["customer"], phone="+4915112345678",
                   addresses=[OldAddress(**ADDRESSES[1])], created_at=created, updated_at=created).save()  # fmt: skip
    # WHEN one is updated the old way (name, phone removed, addresses set) and the other by the new store
    old = OldProfile.get("USER#a", "PROFILE")
    old.update(actions=[OldProfile.updated_at.set(datetime.now(UTC)), OldProfile.name.set("Ada L."), OldProfile.phone.remove(),
                        OldProfile.addresses.set([OldAddress(**ADDRESSES[0])])], condition=OldProfile.pk.exists())  # fmt: skip
    new = identity.update_profile("b", {"name": "Ada L.", "phone": None, "addresses": [ADDRESSES[0]]})
    # THEN the items are alike but for the update's own time, and the new store returns the view the old item gave
    a, b = _raw(tables, "IDENTITY_TABLE_NAME", "USER#a", "PROFILE"), _raw(tables, "IDENTITY_TABLE_NAME", "USER#b", "PROFILE")
    ignored = ("pk", "user_id", "updated_at")
    assert {k: v for k, v in a.items() if k not in ignored} == {k: v for k, v in b.items() if k not in ignored}
    assert "phone" not in b and from_utc_string(b["updated_at"]["S"]) > created
    assert to_view(new) == old_view(old) | {"user_id": "b"}
    # AND updating nothing but the time, or only the phone, touches nothing else
    assert to_view(identity.update_profile("b", {})) == to_view(new)
    assert to_view(identity.update_profile("b", {"phone": "+4915199999999"}))["phone"] == "+4915199999999"
    # AND an update of a profile that does not exist fails, as before
    with pytest.raises(Exception) as raised:
        identity.update_profile("nobody", {"name": "x"})
    assert is_condition_failure(raised.value)


# -- login throttling -----------------------------------------------------------------------------


def test_throttle_counters_move_as_the_old_updates_moved_them(tables) -> None:
    # GIVEN two keys: one counted the old way, one by the new throttle (through the store)
    old_key, new_key = throttle.pair_key("old@example.com", "198.51.100.7"), throttle.pair_key("new@example.com", "198.51.100.7")
    now = 1_800_000_000
    # failures in a window, a lock, failures while locked, a new window, a slow trickle, a second lock
    times = [now + i for i in range(6)] + [now + 70 + i for i in range(6)] + [now + 300 + 40 * i for i in range(4)] + [now + 440]
    times += [now + 500 + i for i in range(5)]  # (440: exactly a minute after the window opened at 380)
    for at in times:
        # WHEN each records the same failure at the same time
        results = old_record_failure(old_key, 5, at), throttle.record_failure(new_key, 5, now=at)
        # THEN both say the same and leave the same item
        assert results[0] == results[1], at
        old_item, new_item = (_raw(tables, "IDENTITY_TABLE_NAME", key, "LOGIN") for key in (old_key, new_key))
        assert _without_key(old_item) == _without_key(new_item), at
        # AND the old model reads the new counter as the store reads the old one
        old_read, new_read = OldThrottle.get(new_key, "LOGIN", consistent_read=True), identity.get_throttle(old_key)
        assert [getattr(old_read, n) for n in ("failures", "window_start", "locked_until", "lockouts", "expires_at")] == [
            getattr(new_read, n) for n in ("failures", "window_start", "locked_until", "lockouts", "expires_at")]
    assert identity.get_throttle(new_key).lockouts == 3  # locked at now+4, now+74 and now+504
    # AND clearing resets the failures as the old update did, and writes nothing for an unknown key
    OldThrottle(old_key, "LOGIN").update(actions=[OldThrottle.failures.set(0)], condition=OldThrottle.pk.exists())
    throttle.clear(new_key)
    assert _without_key(_raw(tables, "IDENTITY_TABLE_NAME", old_key, "LOGIN")) == _without_key(_raw(tables, "IDENTITY_TABLE_NAME", new_key, "LOGIN"))
    throttle.clear(throttle.pair_key("never@example.com", "198.51.100.7"))
    assert identity.get_throttle(throttle.pair_key("never@example.com", "198.51.100.7")) is None


# -- notifications --------------------------------------------------------------------------------


def _old_notice(event_id: str, recipient_id: str, lease_until: float, **fields: Any) -> OldNotification:
    return OldNotification(
        f"NOTIFICATION#{event_id}", f"order-confirmed#{recipient_id}", event_id=event_id, kind="order-confirmed",
        recipient_id=recipient_id, order_id="ord_1", status=notifications.PENDING, attempt="a1", attempts=1, lease_until=lease_until,
        created_at="2025-01-01T00:00:00.000Z", expires_at=1_900_000_000, **fields,
    )


def test_a_notice_written_by_the_old_model_reads_back_the_same_and_vice_versa(tables) -> None:
    # GIVEN a notice the old model wrote (a lease with a fraction, as time.time() gives)
    old = _old_notice("ord_1:3", "u1", 1_800_000_060.123456)
    old.save()
    # WHEN the new store reads it THEN every field is the old model's
    new = notifications.get("ord_1:3", "order-confirmed", "u1")
    fields = [f for f in OldNotification.get_attributes() if f not in ("pk", "sk")]
    assert new is not None and {f: getattr(new, f) for f in fields} == {f: getattr(old, f) for f in fields}
    assert (new.pk, new.sk) == (old.pk, old.sk)
    # AND the same notice written by the new store and by the old model is the same item
    twin = notifications.Notification(**{f: getattr(old, f) for f in fields if getattr(old, f) is not None} | {"recipient_id": "u2"})
    assert notifications.put_new(twin)
    assert not notifications.put_new(twin)  # a second claim's put finds it
    _old_notice("ord_1:3", "u3", 1_800_000_060.123456).save()
    written, expected = (_raw(tables, "NOTIFICATIONS_TABLE_NAME", "NOTIFICATION#ord_1:3", f"order-confirmed#{r}") for r in ("u2", "u3"))
    assert _notice_body(written) == _notice_body(expected)
    assert written["lease_until"] == {"N": "1800000060.123456"} and "channel" not in written
    # AND the old model reads it as the new store does
    read_back = OldNotification.get("NOTIFICATION#ord_1:3", "order-confirmed#u2", consistent_read=True)
    assert {f: getattr(read_back, f) for f in fields} == {f: getattr(twin, f) for f in fields}


def _notice_body(item: dict[str, Any]) -> dict[str, Any]:
    """A notice item but for what names its recipient (twins differ there) and the send's own time."""
    return {name: value for name, value in item.items() if name not in ("sk", "recipient_id", "sent_at")}


def test_claims_and_marks_change_the_notice_as_the_old_updates_did(tables) -> None:
    # GIVEN twin notices left pending by an attempt whose lease is over
    old = _old_notice("ord_2:3", "old", 1.5)
    old.save()
    _old_notice("ord_2:3", "new", 1.5).save()

    def alike() -> None:
        old_item, new_item = (_raw(tables, "NOTIFICATIONS_TABLE_NAME", "NOTIFICATION#ord_2:3", f"order-confirmed#{r}") for r in ("old", "new"))
        assert _notice_body(old_item) == _notice_body(new_item)
        assert ("sent_at" in old_item) == ("sent_at" in new_item)

    # WHEN one is taken over the old way and the other by deliveries.claim (lease 60 s at t=100)
    old.update(actions=[OldNotification.attempt.set("a2"), OldNotification.attempts.add(1), OldNotification.lease_until.set(160.25)],
               condition=(OldNotification.status == notifications.PENDING) & (OldNotification.attempt == "a1"))  # fmt: skip
    claimed = deliveries.claim("ord_2:3", "order-confirmed", "new", "ord_1", lease_seconds=60.25, now=100.0)
    assert claimed is not None and claimed.attempts == 2 and claimed.attempt != "a1" and claimed.lease_until == 160.25
    # (the attempt ids differ: align them to compare the rest)
    old.update(actions=[OldNotification.attempt.set(claimed.attempt)])
    # THEN the items are alike
    alike()
    # AND a second taker with the old attempt id loses, as before
    assert notifications.take_over(_stale(claimed), "a3", 200.0) is None
    # WHEN both are released after a failed send, then sent
    old.update(actions=[OldNotification.lease_until.set(0), OldNotification.last_error.set("ConnectionError: down")],
               condition=OldNotification.attempt == claimed.attempt)  # fmt: skip
    deliveries.release(claimed, ConnectionError("down"))
    alike()
    recorded = {"to": "b@example.com", "subject": "Your order", "body": "Thanks"}
    old.update(actions=[OldNotification.status.set(notifications.SENT), OldNotification.sent_at.set("2025-01-01T00:00:01.000Z"),
                        OldNotification.channel.set("outbox"), *(getattr(OldNotification, k).set(v) for k, v in recorded.items())],
               condition=OldNotification.pk.exists())  # fmt: skip
    deliveries.mark_sent(claimed, "outbox", recorded)
    # THEN the items are alike again, and the outbox reads both (the old one as written by the model)
    alike()
    assert sorted(m["recipient_id"] for m in outbox.read_outbox("ord_1")) == ["new", "old"]
    assert {k: v for k, v in outbox.read_outbox("ord_1")[0].items() if k not in ("recipient_id", "sent_at")} == {
        "event_id": "ord_2:3", "kind": "order-confirmed", "order_id": "ord_1", **recorded}
    # AND a notice that is done is not claimed again
    assert deliveries.claim("ord_2:3", "order-confirmed", "old", "ord_1", lease_seconds=60) is None


def test_marking_a_notice_that_is_gone_fails_as_before(tables) -> None:
    gone = notifications.Notification(event_id="ord_9:1", kind="order-confirmed", recipient_id="u", order_id="ord_9", status="PENDING",
                                      attempt="a", lease_until=0, created_at="", expires_at=0)  # fmt: skip
    with pytest.raises(Exception) as raised:
        deliveries.mark_skipped(gone, "no such user")
    assert is_condition_failure(raised.value)
    deliveries.release(gone, RuntimeError("x"))  # best effort: logged, not raised


def _stale(notice: notifications.Notification) -> notifications.Notification:
    """The notice as a taker that read it before the take-over saw it."""
    from dataclasses import replace

    return replace(notice, attempt="a1")


def test_the_utc_codec_is_pynamodb_s() -> None:
    attribute = UTCDateTimeAttribute()
    for value in (datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=timezone_plus_two()),
                  datetime(999, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, 12, 0, 0, 123456)):  # fmt: skip
        assert to_utc_string(value) == attribute.serialize(value)
        assert from_utc_string(to_utc_string(value)) == attribute.deserialize(attribute.serialize(value))
    with pytest.raises(ValueError):
        from_utc_string("2025-01-02T03:04:05Z")


def timezone_plus_two():
    from datetime import timezone

    return timezone(timedelta(hours=2))


def test_an_address_is_written_with_its_fields_in_the_old_order(tables) -> None:
    # (DynamoDB keeps no order in a map; moto, and so the local stack's JSON, does)
    created = datetime(2025, 1, 1, tzinfo=UTC)
    identity.put_new_profile(identity.Profile(user_id="n3", email="e", name="n", addresses=[ADDRESSES[1]], created_at=created, updated_at=created))
    OldProfile("USER#o3", user_id="n3", email="e", name="n", addresses=[OldAddress(**ADDRESSES[1])], created_at=created, updated_at=created).save()
    new, old = (_raw(tables, "IDENTITY_TABLE_NAME", pk, "PROFILE")["addresses"]["L"][0]["M"] for pk in ("USER#n3", "USER#o3"))
    assert list(new) == list(old)
