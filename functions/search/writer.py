"""Read-merge-write of product documents with optimistic concurrency: the one way anything
writes the product index (docs/decisions/0010-search-document-concurrency.md).

Two stream consumers (catalog, inventory) and the ops commands change parts of the same
documents, so no writer may blindly overwrite one. Per round, for the products still pending:

1. one `_mget` of their current documents (realtime), each with `_seq_no` / `_primary_term`
   and the concrete index it lives in;
2. `prepare(current)`: anything the merges need from elsewhere (the catalog writer reads the
   stock of new SKUs here, one BatchGetItem);
3. `merge(product_id, current_source)` -> the new document, or None: nothing newer to write;
4. one `_bulk`: `create` where there was no document, else `index` with `if_seq_no` /
   `if_primary_term`, to that index's write alias (`require_alias`). A 409 means another
   writer changed the document since step 1: the product goes to the next round and merges
   again onto what is there now. (A 404 on the write alias means a reindex deleted the index
   since step 1: the same.)

After MAX_ROUNDS, still-conflicting products fail, and the caller reports their records so
Lambda retries them. Nothing raises for OpenSearch trouble: it fails every pending product.

No scripts: osmem-server (the local OpenSearch) supports none, and this works the same on
Amazon OpenSearch (3.x); the merges stay plain, testable Python.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from functions.search import mapping
from functions.search.client import get_client
from shared.observability import logger

BULK_TIMEOUT_SECONDS = float(os.environ.get("SEARCH_BULK_TIMEOUT_SECONDS", "30"))
MAX_ROUNDS = int(os.environ.get("SEARCH_WRITE_ROUNDS", "5"))
OK = None  # an outcome: None = done (written, or nothing newer to write), else why not

_index_ready = False  # the alias was seen (or created) by this execution environment


@dataclass(frozen=True)
class Current:
    """A product's document as one round read it."""

    index: str  # the concrete index it was read from (or, when absent, would be created in)
    source: dict[str, Any] | None  # None: no document
    seq_no: int | None = None
    primary_term: int | None = None


Merge = Callable[[str, "dict[str, Any] | None"], "dict[str, Any] | None"]
Prepare = Callable[[dict[str, Current]], None]


class _Retry(Exception):
    """This product must be read and merged again (internal)."""


def write(
    product_ids: Iterable[str],
    merge: Merge,
    *,
    prepare: Prepare | None = None,
    index: str = mapping.ALIAS,
    client: Any = None,
) -> dict[str, str | None]:
    """Product id -> outcome (OK, or the reason it failed) of merging and writing each product."""
    global _index_ready
    pending = list(dict.fromkeys(product_ids))
    outcomes: dict[str, str | None] = {}
    if not pending:
        return outcomes
    try:
        client = client or get_client()
    except Exception as exc:
        return dict.fromkeys(pending, _unavailable(exc, len(pending)))
    conflicts = 0
    why = f"document changed by another writer in each of {MAX_ROUNDS} attempts"
    for _ in range(MAX_ROUNDS):
        try:
            if index == mapping.ALIAS and not _index_ready:
                mapping.ensure_index(client)
                _index_ready = True
            current, missing_index = _read(client, index, pending, outcomes)
        except Exception as exc:
            _index_ready = False  # re-check the alias next time: the cluster may have been replaced
            outcomes.update(dict.fromkeys(pending, _unavailable(exc, len(pending))))
            return outcomes
        if missing_index:
            # The alias (or the index) vanished: an operator's delete, a replaced cluster.
            # Recreate it (alias only) and read again in the next round.
            logger.warning("product index missing; recreating it", extra={"index": index, "products": len(missing_index)})
            _index_ready = False
            why = f"the {index} index was missing in each of {MAX_ROUNDS} attempts"
            if index != mapping.ALIAS:
                outcomes.update(dict.fromkeys(missing_index, f"index {index} does not exist"))
            pending = [pid for pid in pending if pid not in outcomes]
            if not pending:
                return outcomes
            continue
        try:
            if prepare is not None:
                prepare(current)
        except Exception as exc:
            reason = f"cannot prepare the merge: {type(exc).__name__}: {exc}"
            logger.warning("merge preparation failed", extra={"products": len(current), "reason": reason})
            outcomes.update(dict.fromkeys(current, reason))
            return outcomes
        lines, writing = [], []
        for product_id, doc in current.items():
            try:
                merged = merge(product_id, doc.source)
            except Exception as exc:  # one product's bad data fails that product alone
                logger.exception("cannot merge document", extra={"product_id": product_id})
                outcomes[product_id] = f"cannot merge: {type(exc).__name__}: {exc}"
                continue
            if merged is None or merged == doc.source:
                outcomes[product_id] = OK  # nothing newer: the document already says this
                continue
            meta: dict[str, Any] = {"_index": mapping.write_alias(doc.index), "_id": product_id}
            if doc.source is None:
                lines.append({"create": meta})
            else:
                meta.update(if_seq_no=doc.seq_no, if_primary_term=doc.primary_term)
                lines.append({"index": meta})
            lines.append(merged)
            writing.append(product_id)
        if not writing:
            return outcomes
        retry = _bulk(client, lines, writing, outcomes)
        if not retry:
            return outcomes
        conflicts += len(retry)
        pending = retry
        why = f"document changed by another writer in each of {MAX_ROUNDS} attempts"
    logger.warning("gave up on conflicting writes", extra={"products": len(pending), "conflicts": conflicts, "reason": why})
    outcomes.update(dict.fromkeys(pending, why))
    return outcomes


def reset() -> None:
    """Forget that the alias was seen (tests that delete indices behind the writer's back)."""
    global _index_ready
    _index_ready = False


def _read(client: Any, index: str, product_ids: list[str], outcomes: dict[str, str | None]) -> tuple[dict[str, Current], list[str]]:
    """Current documents of these products (those that could be read), and the products whose
    index does not exist. Read failures of single documents go to `outcomes`."""
    from opensearchpy.exceptions import NotFoundError

    try:
        response = client.mget(index=index, body={"ids": product_ids})
    except NotFoundError as exc:  # some versions answer a missing index with a 404 for the whole _mget
        if exc.error != "index_not_found_exception":
            raise
        return {}, list(product_ids)
    current: dict[str, Current] = {}
    missing_index: list[str] = []
    for product_id, doc in zip(product_ids, response.get("docs") or [], strict=False):
        error = doc.get("error")
        if error:
            error_type = error.get("type", "") if isinstance(error, dict) else str(error)
            if error_type == "index_not_found_exception":
                missing_index.append(product_id)
            else:
                reason = error.get("reason", "") if isinstance(error, dict) else ""
                outcomes[product_id] = f"read failed: {error_type}: {reason}".strip()
        elif doc.get("found"):
            current[product_id] = Current(doc["_index"], doc.get("_source") or {}, int(doc["_seq_no"]), int(doc["_primary_term"]))
        else:
            current[product_id] = Current(doc["_index"], None)
    for product_id in product_ids:
        if product_id not in current and product_id not in outcomes and product_id not in missing_index:
            outcomes[product_id] = "read failed: _mget did not answer for it"
    return current, missing_index


def _bulk(client: Any, lines: list[dict[str, Any]], product_ids: list[str], outcomes: dict[str, str | None]) -> list[str]:
    """Send the writes; record outcomes; return the products to read and merge again."""
    global _index_ready
    try:
        response = client.bulk(body=lines, params={"require_alias": "true", "request_timeout": BULK_TIMEOUT_SECONDS})
    except Exception as exc:
        _index_ready = False
        outcomes.update(dict.fromkeys(product_ids, _unavailable(exc, len(product_ids))))
        return []
    items = response.get("items") or []
    if len(items) != len(product_ids):
        outcomes.update(dict.fromkeys(product_ids, f"bulk answered {len(items)} items for {len(product_ids)} writes"))
        return []
    retry = []
    for product_id, item in zip(product_ids, items, strict=True):
        ((op, result),) = item.items()
        status = int(result.get("status", 500))
        error = result.get("error") or {}
        error_type = error.get("type", "") if isinstance(error, dict) else str(error)
        if 200 <= status < 300:
            outcomes[product_id] = OK
        elif status == 409 and error_type == "version_conflict_engine_exception":
            retry.append(product_id)  # someone wrote since our read: merge again onto theirs
        elif error_type == "index_not_found_exception":
            _index_ready = False  # a reindex deleted the index we read from (or the cluster lost it)
            retry.append(product_id)
        else:
            reason = error.get("reason", "") if isinstance(error, dict) else ""
            outcomes[product_id] = f"{op} failed: HTTP {status} {error_type}: {reason}".strip()
    return retry


def _unavailable(exc: BaseException, count: int) -> str:
    reason = f"search unavailable: {type(exc).__name__}: {exc}"
    logger.warning("search request failed", extra={"products": count, "reason": reason})
    return reason
