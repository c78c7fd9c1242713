"""The identity table. Only the identity service reads or writes it.

  profile         pk=USER#<user_id>               sk=PROFILE   user_id, email, name, roles (L of S), phone,
                  addresses (L of M, each with only its set fields), created_at, updated_at
  login throttle  pk=THROTTLE#<scope>#<key hash>  sk=LOGIN     failures (in the current window),
                  window_start, locked_until, lockouts (how many times locked), expires_at (TTL); all
                  epoch seconds or counts

The items were written by pynamodb models before; they look the same written here: the same
attribute names, datetimes as strings in pynamodb's UTC format (shared/attributes.py), no
attribute for an unset value (never NULL), addresses holding only their set fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.attributes import from_attrs, from_utc_string, to_attr, to_item, to_utc_string
from shared.tables import connection, is_condition_failure

ADDRESS_FIELDS = ("label", "name", "line1", "line2", "city", "region", "postal_code", "country")


def table() -> str:
    return os.environ.get("IDENTITY_TABLE_NAME", "identity")


# -- profiles -----------------------------------------------------------------------------------


def profile_key(user_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "PROFILE"}}


@dataclass
class Profile:
    user_id: str
    email: str
    name: str
    created_at: datetime
    updated_at: datetime
    roles: list[str] = field(default_factory=list)
    phone: str | None = None
    # Each address holds only its set fields (ADDRESS_FIELDS), as stored.
    addresses: list[dict[str, str]] = field(default_factory=list)


def _profile(item: dict[str, Any]) -> Profile:
    plain = from_attrs(item)
    return Profile(
        user_id=plain["user_id"], email=plain["email"], name=plain["name"],
        created_at=from_utc_string(plain["created_at"]), updated_at=from_utc_string(plain["updated_at"]),
        roles=list(plain.get("roles") or []), phone=plain.get("phone"), addresses=list(plain.get("addresses") or []),
    )


def _address(address: dict[str, Any]) -> dict[str, str]:
    """An address as stored: its set fields only (an unset field has no attribute), in the order
    pynamodb wrote them (by name)."""
    return {name: address[name] for name in sorted(ADDRESS_FIELDS) if address.get(name) is not None}


def profile_item(profile: Profile) -> dict[str, Any]:
    """The profile's item, as it is written."""
    return {**profile_key(profile.user_id), **to_item({
        "user_id": profile.user_id, "email": profile.email, "name": profile.name, "roles": list(profile.roles),
        "phone": profile.phone, "addresses": [_address(address) for address in profile.addresses],
        "created_at": to_utc_string(profile.created_at), "updated_at": to_utc_string(profile.updated_at),
    })}


def get_profile(user_id: str) -> Profile | None:
    item = connection().client.get_item(TableName=table(), Key=profile_key(user_id), ConsistentRead=True).get("Item")
    return _profile(item) if item else None


def put_new_profile(profile: Profile) -> bool:
    """Write the profile unless the user has one; False if they had (it is left as it was)."""
    try:
        connection().client.put_item(TableName=table(), Item=profile_item(profile), ConditionExpression="attribute_not_exists(pk)")
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def update_profile(user_id: str, changes: dict[str, Any]) -> Profile:
    """One UpdateItem of the existing profile: `updated_at` and the fields in `changes` (a None
    value removes that field: only `phone` may be absent); other fields are left as they are, so
    concurrent edits of other fields are kept. The profile as it is now."""
    sets = {"updated_at": to_utc_string(datetime.now(UTC))}
    removes: list[str] = []
    for name, value in changes.items():
        if value is None:
            removes.append(name)
        else:
            sets[name] = [_address(address) for address in value] if name == "addresses" else value
    names = {f"#s{i}": name for i, name in enumerate(sets)} | {f"#r{i}": name for i, name in enumerate(removes)}
    expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
    if removes:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    response = connection().client.update_item(
        TableName=table(), Key=profile_key(user_id), UpdateExpression=expression, ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames=names, ExpressionAttributeValues={f":s{i}": to_attr(value) for i, value in enumerate(sets.values())},
        ReturnValues="ALL_NEW",
    )
    return _profile(response["Attributes"])


# -- login throttling ---------------------------------------------------------------------------


def throttle_item_key(key: str) -> dict[str, Any]:
    """`key` is the counter's pk (functions/identity/throttle.py `throttle_key`)."""
    return {"pk": {"S": key}, "sk": {"S": "LOGIN"}}


@dataclass
class LoginThrottle:
    key: str
    failures: int = 0  # in the current window
    window_start: int = 0  # epoch seconds
    locked_until: int = 0  # epoch seconds
    lockouts: int = 0  # how many times locked: the back-off grows with it
    expires_at: int | None = None  # TTL, epoch seconds


def _throttle(item: dict[str, Any]) -> LoginThrottle:
    plain = from_attrs(item)
    counters = {name: plain[name] for name in ("failures", "window_start", "locked_until", "lockouts", "expires_at") if name in plain}
    return LoginThrottle(key=plain["pk"], **counters)


def get_throttle(key: str) -> LoginThrottle | None:
    item = connection().client.get_item(TableName=table(), Key=throttle_item_key(key), ConsistentRead=True).get("Item")
    return _throttle(item) if item else None


def _update_throttle(key: str, expression: str, condition: str, values: dict[str, Any]) -> LoginThrottle | None:
    """One conditional UpdateItem of the counter (created if absent and the condition allows);
    the counter as it is now, or None if the condition failed."""
    try:
        response = connection().client.update_item(
            TableName=table(), Key=throttle_item_key(key), UpdateExpression=expression, ConditionExpression=condition,
            ExpressionAttributeValues={name: to_attr(value) for name, value in values.items()}, ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return None
        raise
    return _throttle(response["Attributes"])


def count_failure_in_window(key: str, window_opened_after: int, expires_at: int) -> LoginThrottle | None:
    """One more failure in the current window, if it opened at or after `window_opened_after`
    (else None: no window, or an old one)."""
    return _update_throttle(
        key, "SET expires_at = :expires ADD failures :one", "window_start >= :cutoff",
        {":expires": expires_at, ":one": 1, ":cutoff": window_opened_after},
    )


def open_window(key: str, now: int, window_opened_before: int, expires_at: int) -> LoginThrottle | None:
    """A new window at `now` with one failure, if there is no window or it opened before
    `window_opened_before` (else None: another failure opened one meanwhile)."""
    return _update_throttle(
        key, "SET failures = :one, window_start = :now, expires_at = :expires",
        "attribute_not_exists(window_start) OR window_start < :cutoff",
        {":one": 1, ":now": now, ":expires": expires_at, ":cutoff": window_opened_before},
    )


def lock(key: str, limit: int, now: int, locked_until: int, expires_at: int) -> bool:
    """Lock the key until `locked_until` (one more lock-out; the count restarts), if it counts at
    least `limit` failures and is not locked at `now`. Exactly one of concurrent failures locks,
    and failures of requests that passed the check just before the lock do not stack a second
    lock-out on top of it. False if the condition failed."""
    return _update_throttle(
        key, "SET locked_until = :until, failures = :zero, window_start = :now, expires_at = :expires ADD lockouts :one",
        "failures >= :limit AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
        {":until": locked_until, ":zero": 0, ":now": now, ":expires": expires_at, ":one": 1, ":limit": limit},
    ) is not None


def clear_failures(key: str) -> None:
    """The failures of an existing counter back to 0 (nothing is written for a key never counted)."""
    _update_throttle(key, "SET failures = :zero", "attribute_exists(pk)", {":zero": 0})
