"""Identifiers: ULIDs (time-sortable, 26 chars, URL-safe) so lists sort by creation for free."""

from __future__ import annotations

import os
import re
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id(now_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32."""
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (timestamp << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_CROCKFORD[index])
    return "".join(reversed(chars))


def new_prefixed_id(prefix: str) -> str:
    """`cat_01J...`: the prefix tells a reader what kind of thing an id names."""
    return f"{prefix}_{new_id()}"


def is_prefixed_id(value: str, prefix: str) -> bool:
    head, _, ulid = value.partition("_")
    return head == prefix and bool(ULID_PATTERN.match(ulid))
