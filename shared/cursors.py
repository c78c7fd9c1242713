"""Opaque list cursors, signed so that a client can only hand back what this API gave it.

A cursor is `<payload>.<mac>`, both base64url: the payload is JSON `{"l": list, "s": scope, "v":
position}` and the mac an HMAC-SHA256 of the payload's bytes. `list` names the paginating list
("products", "orders"...), `scope` what it pages through (a category, a user, a search's
fingerprint), so a cursor of one list or caller cannot be replayed on another. A cursor that is not
well formed, not signed by a current key or of another list is a 400 INVALID_CURSOR before its
position reaches DynamoDB or OpenSearch (forged ones used to: a NaN in a search cursor was a 500).
Positions are still checked for shape by their lists: a signature proves origin, not that this
version of the code wrote it.

Keys: the secret named by CURSOR_SECRET_ARN holds `{"current": ..., "previous": ...}`; cursors are
signed with the current key and verify with either, so a rotation (ops/rotate_cursor_secret.py)
invalidates no cursor a client holds. Read once per execution environment and kept 5 minutes, so a
rotation is picked up without a cold start (ADR 0021).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from typing import Any

from shared.errors import ValidationError

SECRET_ARN_VARIABLE = "CURSOR_SECRET_ARN"
SECRET_CACHE_SECONDS = 300
MAX_CURSOR_LENGTH = 2000  # what the routes accept (their `cursor` query parameter)
_cache: dict[str, tuple[float, list[bytes]]] = {}


class InvalidCursor(ValidationError):
    code = "INVALID_CURSOR"

    def __init__(self, reason: str = "not a cursor from this API") -> None:
        super().__init__(
            "The cursor is not valid.", {"fields": [{"field": "query.cursor", "message": reason, "type": "invalid"}]}
        )


def encode(list_name: str, scope: str, position: Any) -> str:
    """A signed cursor for `position` (any JSON value) of `list_name` within `scope`."""
    # Infinity may be a position (OpenSearch's sort value of a missing double): JSON allows it here.
    payload = json.dumps({"l": list_name, "s": scope, "v": position}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(keys()[0], payload))}"


def decode(list_name: str, scope: str, cursor: str) -> Any:
    """The position a cursor of `list_name` within `scope` holds, or InvalidCursor."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise InvalidCursor()
    encoded_payload, encoded_mac = cursor.split(".")
    try:
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not any(hmac.compare_digest(mac, _mac(key, payload)) for key in keys()):
        raise InvalidCursor()
    try:
        document = json.loads(payload)  # signed: this module's own JSON
    except ValueError:
        raise InvalidCursor() from None
    if not isinstance(document, dict) or document.get("l") != list_name:
        raise InvalidCursor()
    if document.get("s") != scope:
        raise InvalidCursor("the cursor belongs to another list (the same filters are needed)")
    return document.get("v")


def keys() -> list[bytes]:
    """The signing keys, current first (the previous one verifies during a rotation)."""
    arn = os.environ[SECRET_ARN_VARIABLE]
    cached = _cache.get(arn)
    if cached and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1]
    import boto3

    from shared.aws import config

    value = json.loads(boto3.client("secretsmanager", config=config("secretsmanager")).get_secret_value(SecretId=arn)["SecretString"])
    found = [value[name].encode() for name in ("current", "previous") if value.get(name)]
    if not found:
        raise RuntimeError(f"the cursor secret {arn} has no current key")
    _cache[arn] = (time.monotonic(), found)
    return found


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
