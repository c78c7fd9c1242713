"""Idempotency keys with the IETF draft's semantics (draft-ietf-httpapi-idempotency-key-header).

- no `Idempotency-Key` header: 400;
- the key with another request body: 422 IDEMPOTENCY_KEY_REUSED;
- the first request with the key is still running: 409 IDEMPOTENCY_IN_PROGRESS;
- done: the first answer again, byte for byte (status, body, headers);
- keys live 24 hours (the item's TTL), per user.

The record lives in the owning service's table, so the first request can create its resource in
the same transaction as the claim (POST /orders writes the PROCESSING order with it). A claim that
was never completed (the function died) can be taken over after LOCK_SECONDS by a retry with the
same body, which reuses the resource id stored in it: the retry continues the same work.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from shared import transactions
from shared.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationError
from shared.tables import connection, error_code
from shared.transactions import retry_when_busy

HEADER = "Idempotency-Key"
TTL_SECONDS = 24 * 3600
LOCK_SECONDS = 60
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    table: str
    key: dict[str, Any]
    resource_id: str
    replay: dict[str, Any] | None = None  # the first answer: {"status", "body", "headers"}


def key_from_headers(headers: dict[str, str] | None) -> str:
    value = next((v for k, v in (headers or {}).items() if k.lower() == HEADER.lower()), None)
    if value is None or not value.strip():
        raise ValidationError(
            f"The {HEADER} header is required.",
            {"fields": [{"field": f"header.{HEADER}", "message": "required", "type": "missing"}]},
        )
    value = value.strip()
    if len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise ValidationError(
            f"The {HEADER} header must be 1-{MAX_KEY_LENGTH} printable characters.",
            {"fields": [{"field": f"header.{HEADER}", "message": "invalid", "type": "invalid"}]},
        )
    return value


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    table: str,
    scope: str,
    user_id: str,
    key: str,
    fingerprint: str,
    new_resource_id: str,
    also: Any = None,
) -> Claim:
    """Take the key for this request, or say what the key already means.

    `also(resource_id)` -> TransactItems written atomically with a fresh claim (not with a takeover:
    a takeover's resource exists already)."""
    item_key = {"pk": {"S": f"IDEMPOTENCY#{scope}#{user_id}#{hashlib.sha256(key.encode()).hexdigest()}"}, "sk": {"S": "IDEMPOTENCY"}}
    now = int(time.time())
    fresh = {
        **item_key,
        "state": {"S": "IN_PROGRESS"},
        "request_hash": {"S": fingerprint},
        "resource_id": {"S": new_resource_id},
        "locked_until": {"N": str(now + LOCK_SECONDS)},
        "expires_at": {"N": str(now + TTL_SECONDS)},
    }
    put = {"Put": {
        "TableName": table, "Item": fresh,
        "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
        "ExpressionAttributeValues": {":now": {"N": str(now)}},
    }}
    # A retry reads the key first and writes nothing while it is taken: a claim that fails its
    # condition is still a transaction on the key's item, and on AWS a client resending every few
    # hundred ms would keep that item in flight so that the first request could never complete it
    # (TransactionConflict on its own answer). A read never conflicts. The claim below stays
    # conditional, so two first requests racing past this read still get one claim.
    existing = _read(table, item_key)
    if existing is None or int(existing["expires_at"]["N"]) <= now:
        writes = [put, *(also(new_resource_id) if also else [])]
        try:
            # A busy item (another claim with this key in flight, or out of capacity) changed nothing:
            # sent again with jitter, so a condition failure below always means "the key is taken".
            transactions.write(writes, on_condition_failed=transactions.ConditionFailed)
            return Claim(table, item_key, new_resource_id)
        except transactions.ConditionFailed:
            pass
        existing = _read(table, item_key)
        if existing is None:
            raise IdempotencyInProgress("The request with this key is still being processed; retry shortly.")
    if existing["request_hash"]["S"] != fingerprint:
        raise IdempotencyKeyReused(f"This {HEADER} was used with a different request.")
    if existing["state"]["S"] == "COMPLETED":
        return Claim(table, item_key, existing["resource_id"]["S"], json.loads(existing["response"]["S"]))
    if int(existing["locked_until"]["N"]) > now:
        raise IdempotencyInProgress("The request with this key is still being processed; retry shortly.")
    # The first attempt died without answering: take over, continuing its work.
    try:
        retry_when_busy(lambda: connection().client.update_item(
            TableName=table, Key=item_key, UpdateExpression="SET locked_until = :until",
            ConditionExpression="#state = :progress AND locked_until = :seen",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":until": {"N": str(now + LOCK_SECONDS)}, ":progress": {"S": "IN_PROGRESS"}, ":seen": existing["locked_until"],
            },
        ))
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "ConditionalCheckFailedException":
            raise IdempotencyInProgress("The request with this key is still being processed; retry shortly.") from None
        raise
    return Claim(table, item_key, existing["resource_id"]["S"])


def _read(table: str, item_key: dict[str, Any]) -> dict[str, Any] | None:
    return connection().client.get_item(TableName=table, Key=item_key, ConsistentRead=True).get("Item")


def complete(claim: Claim, status: int, body: str, headers: dict[str, str] | None = None) -> None:
    """Store the answer that every retry with this key gets from now on."""
    response = json.dumps({"status": status, "body": body, "headers": headers or {}})
    # Retried while busy: a duplicate's claim in flight on the key's item must not turn the answer
    # into a 500 after the work was done.
    retry_when_busy(lambda: connection().client.update_item(
        TableName=claim.table, Key=claim.key, UpdateExpression="SET #state = :done, #response = :response",
        ExpressionAttributeNames={"#state": "state", "#response": "response"},
        ExpressionAttributeValues={":done": {"S": "COMPLETED"}, ":response": {"S": response}},
    ))


def release(claim: Claim) -> None:
    """Give the key back instead of completing it: for an answer that says "retry" (a 503), so a
    retry with the same key starts afresh instead of replaying the 503 for 24 hours. Only the
    claim still in progress with this resource is deleted (never a completed one)."""
    try:
        retry_when_busy(lambda: connection().client.delete_item(
            TableName=claim.table, Key=claim.key,
            ConditionExpression="#state = :progress AND resource_id = :resource",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":progress": {"S": "IN_PROGRESS"}, ":resource": {"S": claim.resource_id}},
        ))
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
