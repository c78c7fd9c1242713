"""Catalog stream -> OpenSearch: the only live writer of the product index.

Each batch becomes one bulk request with external versioning (the item's `version`), so:
- a redelivered or out-of-order record never overwrites a newer document: OpenSearch answers
  409, which means "a newer version is already there" and counts as done;
- a soft delete (status DELETED) deletes at its own version, a REMOVE at old version + 1, and
  a stale update arriving after a delete is refused too (the delete's tombstone holds its version).
Any other per-item error, or OpenSearch being unreachable, fails exactly those records in
`batchItemFailures`: Lambda retries from the first of them, and after the mapping's retries the
batch goes to the on-failure queue (ops/replay_failures.py re-drives it). Nothing is swallowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.search import mapping
from functions.search.client import get_client
from functions.search.documents import IndexAction, from_stream_record
from shared.observability import logger

BULK_TIMEOUT_SECONDS = float(os.environ.get("SEARCH_BULK_TIMEOUT_SECONDS", "30"))
OK = None  # an outcome: None = done, else the reason it failed

# Report a wholly failed batch as failures rather than raising: the response then names every
# record (Lambda retries the same either way, but the log and the report stay explicit).
_processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
_index_ready = False  # the alias was seen (or created) by this execution environment


class IndexingFailed(RuntimeError):
    """A record the index did not take; the batch processor reports it."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    outcomes = index_records(records)

    def check(record: DynamoDBRecord) -> None:
        reason = outcomes.get(record.dynamodb.sequence_number if record.dynamodb else "")
        if reason is not OK:
            raise IndexingFailed(reason)

    response = process_partial_response(event=event, record_handler=check, processor=_processor, context=context)
    failed = len(response.get("batchItemFailures") or [])
    logger.info("indexed catalog batch", extra={"records": len(records), "failed": failed})
    return response


def index_records(records: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """Sequence number -> outcome (None: done, else why not) for Lambda-shaped stream records."""
    outcomes: dict[str, str | None] = {}
    pending: list[tuple[str, IndexAction]] = []
    for record in records:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            action = from_stream_record(record)
        except Exception as exc:  # a malformed record fails alone, loudly
            logger.exception("cannot translate stream record", extra={"sequence_number": sequence})
            outcomes[sequence] = f"untranslatable record: {exc}"
            continue
        if action is None:
            outcomes[sequence] = OK  # not a product: nothing to index
        else:
            pending.append((sequence, action))
    if pending:
        results = apply_actions([action for _, action in pending])
        for (sequence, action), reason in zip(pending, results, strict=True):
            if reason is not OK:
                logger.warning(
                    "index write failed",
                    extra={"sequence_number": sequence, "product_id": action.product_id, "op": action.op, "reason": reason},
                )
            outcomes[sequence] = reason
    return outcomes


def apply_actions(
    actions: Sequence[IndexAction], *, index: str = mapping.ALIAS, client: Any = None, retried: bool = False
) -> list[str | None]:
    """One bulk request; per action None (done, or already superseded) or the failure reason.

    Never raises for OpenSearch trouble: an unreachable cluster fails every action.
    """
    global _index_ready
    if not actions:
        return []
    try:
        client = client or get_client()
        if index == mapping.ALIAS and not _index_ready:
            mapping.ensure_index(client)
            _index_ready = True
        # require_alias: if the alias vanished, fail instead of auto-creating a concrete index
        # named "products" with guessed mappings (which would also block recreating the alias).
        params = {"require_alias": "true"} if index == mapping.ALIAS else {}
        response = client.bulk(body=list(_bulk_lines(actions, index)), params={**params, "request_timeout": BULK_TIMEOUT_SECONDS})
    except Exception as exc:
        _index_ready = False  # re-check the alias next time: the cluster may have been replaced
        reason = f"search unavailable: {type(exc).__name__}: {exc}"
        logger.warning("bulk request failed", extra={"actions": len(actions), "reason": reason})
        return [reason] * len(actions)
    items = response.get("items") or []
    if len(items) != len(actions):
        return [f"bulk answered {len(items)} items for {len(actions)} actions"] * len(actions)
    outcomes = [_outcome(item) for item in items]
    missing = [i for i, item in enumerate(items) if _error_type(item) == "index_not_found_exception"]
    if missing and index == mapping.ALIAS and not retried:
        # The alias vanished (a cluster replaced, an operator's delete): recreate it and send
        # those actions again now, rather than failing the batch into Lambda's retries.
        logger.warning("products alias missing; recreating it", extra={"actions": len(missing)})
        again = apply_actions([actions[i] for i in missing], index=index, client=client, retried=True)
        for i, outcome in zip(missing, again, strict=True):
            outcomes[i] = outcome
    return outcomes


def _error_type(item: dict[str, Any]) -> str:
    ((_, result),) = item.items()
    error = result.get("error") or {}
    return error.get("type", "") if isinstance(error, dict) else str(error)


def _bulk_lines(actions: Iterable[IndexAction], index: str) -> Iterable[dict[str, Any]]:
    for action in actions:
        meta: dict[str, Any] = {"_index": index, "_id": action.product_id}
        if action.version is not None:
            meta.update(version=action.version, version_type="external")
        if action.op == "index":
            yield {"index": meta}
            yield action.document or {}
        else:
            yield {"delete": meta}


def _outcome(item: dict[str, Any]) -> str | None:
    global _index_ready
    ((op, result),) = item.items()
    status = int(result.get("status", 500))
    error = result.get("error") or {}
    error_type = _error_type(item)
    if 200 <= status < 300:
        return OK
    if status == 409 and error_type == "version_conflict_engine_exception":
        return OK  # a newer (or the same) version is already indexed: this record is stale
    if op == "delete" and status == 404 and not error:
        return OK  # nothing to delete; the tombstone still records the version
    if error_type == "index_not_found_exception":
        _index_ready = False  # the alias is gone: recreate it on the next invocation
    reason = error.get("reason", "") if isinstance(error, dict) else ""
    return f"{op} failed: HTTP {status} {error_type}: {reason}".strip()
