"""Re-drive the on-failure queue (DLQ) of a DynamoDB stream consumer (`<Consumer>FailureQueue`:
SearchIndexer, SearchStockSync, CatalogCacheInvalidator, or any other in infra/topology.py).

    python -m ops.replay_failures --queue-url URL [--consumer ID] [--max-messages N]

The consumer is the one whose id the message's `requestContext.functionArn` names (CDK names a
function after its construct id, e.g. `shop-dev-CatalogCacheInvalidatorF84E209B-1X2Y`), or
`--consumer`. Its records are re-driven through that consumer's own handler, never another's.

When a stream batch fails past the mapping's retries, Lambda sends an on-failure record to the
queue. It holds no data, only where the batch was:
`DDBStreamBatchInfo {shardId, startSequenceNumber, endSequenceNumber, streamArn,
approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize}`. For each message:

1. read those records again from the stream (GetShardIterator AT_SEQUENCE_NUMBER at the start,
   GetRecords up to the end) and run them through the consumer's handler itself (every consumer
   is idempotent, so records it had already handled are harmless);
2. **fallback, when the stream no longer has them**: DynamoDB Streams keep records for 24 hours
   and the queue keeps messages for up to 14 days, so the shard may be trimmed (or the stream
   replaced). The message names no product, so the products are found in the tables instead.
   - SearchIndexer: every product whose `updated_at` lies in the batch's arrival window (+-2
     minutes) is re-indexed from its current state (a product *hard*-deleted in that window is
     no longer in the table and cannot be found; run `python -m ops.search_reindex` to drop such
     leftovers);
   - SearchStockSync: the stock of every live product is read again and merged (newer versions
     only);
   - CatalogCacheInvalidator: the cached pages of the products changed in the window are
     invalidated at their current version;
   - any other consumer has no fallback: the message is kept and reported;
3. SearchIndexer: reconcile every catalog product touched with its current table state
   (versioned, so this never overwrites anything newer). Tombstones already refuse stale
   records, but a reindex only rebuilds tombstones for products still in the table;
4. delete the message only when all of that succeeded; otherwise it stays for the next run.

Needs the consumer's own environment (for the search consumers CATALOG_TABLE_NAME,
INVENTORY_TABLE_NAME, SEARCH_URL (+ SEARCH_AUTH=sigv4); for the cache invalidator CACHE_URL and
CATALOG_TABLE_NAME), and permissions for sqs:ReceiveMessage/DeleteMessage on the queue,
dynamodb:GetShardIterator/GetRecords on the stream, and what the consumer itself may do.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from functions.search.documents import PRODUCT_PK_PREFIX, IndexAction, deserialize_image, from_item, is_product_key, is_stock_key
from functions.search.mapping import ALIAS
from infra.topology import all_stream_consumers
from ops.search_reindex import ReindexFailed, get_products, refresh_stock, scan_products, write
from shared.stream_records import to_lambda_record
from shared.tables import error_code

SEARCH_INDEXER, SEARCH_STOCK_SYNC, CACHE_INVALIDATOR = "SearchIndexer", "SearchStockSync", "CatalogCacheInvalidator"

WINDOW_MARGIN = timedelta(minutes=2)
MAX_EMPTY_READS = 5  # an open shard answers empty pages at its tip; stop after a few
VISIBILITY_SECONDS = 300  # a message kept for retry does not come back within one run
Log = Callable[[str], None]


@dataclass
class ReplayReport:
    messages: int = 0
    deleted: int = 0
    kept: int = 0
    records_redriven: int = 0
    products_reconciled: int = 0
    stock_refreshed: int = 0  # products whose stock was read again (stock batches the stream lost)
    fallbacks: int = 0  # messages whose records the stream no longer had (fully or partly)
    errors: list[str] = field(default_factory=list)


@dataclass
class StreamBatch:
    records: list[dict[str, Any]]  # Lambda's event shape
    complete: bool  # every record from start to end was read


class SearchClient:
    """The OpenSearch client, made on first use: replaying the cache invalidator's queue needs none."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def get(self) -> Any:
        if self._client is None:
            from functions.search.client import get_client

            self._client = get_client()
        return self._client


def replay(
    queue_url: str,
    *,
    consumer: str | None = None,
    max_messages: int = 1000,
    sqs: Any = None,
    streams: Any = None,
    client: Any = None,
    wait_seconds: int = 1,
    log: Log = print,
) -> ReplayReport:
    """Re-drive up to `max_messages` messages of the queue; `consumer` (a StreamConsumer id)
    overrides the consumer the messages name."""
    import boto3

    sqs = sqs or boto3.client("sqs")
    streams = streams or boto3.client("dynamodbstreams")
    search = SearchClient(client)
    report = ReplayReport()
    seen: set[str] = set()
    while report.messages < max_messages:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, max_messages - report.messages),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=VISIBILITY_SECONDS,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            report.messages += 1
            try:
                _replay_message(message, consumer, streams, search, report, log)
            except Exception as exc:  # keep the message; report and go on with the others
                report.kept += 1
                report.errors.append(f"{message['MessageId']}: {type(exc).__name__}: {exc}")
                log(f"kept {message['MessageId']}: {type(exc).__name__}: {exc}")
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            report.deleted += 1
    return report


def consumer_of(body: dict[str, Any], info: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The StreamConsumer id whose function failed the batch: named by the on-failure record's
    function ARN (the longest consumer id in the function's name). Records of a message without
    one (written before it was read) are told apart by their keys: stock items went to the stock
    sync, anything else to the catalog indexer."""
    arn = str((body.get("requestContext") or {}).get("functionArn") or "")
    name = arn.split(":")[6] if arn.count(":") >= 6 else arn
    named = [c.id for c in all_stream_consumers() if c.id in name]
    if named:
        return max(named, key=len)
    if arn:
        raise ValueError(f"{arn} is no stream consumer of infra/topology.py; pass --consumer")
    return SEARCH_STOCK_SYNC if _is_stock_batch(info, records) else SEARCH_INDEXER


def handler_of(consumer: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    [path] = [c.handler for c in all_stream_consumers() if c.id == consumer] or [None]
    if path is None:
        raise ValueError(f"no stream consumer {consumer!r} in infra/topology.py")
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _replay_message(
    message: dict[str, Any], consumer: str | None, streams: Any, search: SearchClient, report: ReplayReport, log: Log
) -> None:
    body = json.loads(message["Body"])
    info = body.get("DDBStreamBatchInfo") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        raise ValueError("not a Lambda on-failure record for a DynamoDB stream (no DDBStreamBatchInfo)")
    batch = read_batch(streams, info)
    consumer = consumer or consumer_of(body, info, batch.records)
    product_ids: set[str] = set()
    if batch.records:
        handler = handler_of(consumer)
        response = handler({"Records": batch.records}, _context(message["MessageId"]))
        failures = (response or {}).get("batchItemFailures") or []
        if failures:
            raise ReindexFailed(f"{len(failures)} of {len(batch.records)} records failed again in {consumer}")
        report.records_redriven += len(batch.records)
        for record in batch.records:
            keys = deserialize_image(record["dynamodb"].get("Keys"))
            if is_product_key(keys):
                product_ids.add(str(keys["pk"])[len(PRODUCT_PK_PREFIX) :])
    if not batch.complete:
        report.fallbacks += 1
        product_ids |= _fallback(consumer, info, search, report, message["MessageId"], log)
    if consumer == SEARCH_INDEXER:
        report.products_reconciled += reconcile(search.get(), product_ids)


def _context(request_id: str) -> SimpleNamespace:
    """What a handler (and Powertools' inject_lambda_context) reads of Lambda's context object."""
    return SimpleNamespace(
        function_name="ops.replay_failures",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:local:000000000000:function:ops.replay_failures",
        memory_limit_in_mb=0,
        aws_request_id=request_id,
        log_group_name="",
        log_stream_name="",
        get_remaining_time_in_millis=lambda: 900_000,
    )


def _fallback(
    consumer: str, info: dict[str, Any], search: SearchClient, report: ReplayReport, message_id: str, log: Log
) -> set[str]:
    """Recover a batch whose records the stream no longer has; returns the products to reconcile."""
    if consumer == SEARCH_STOCK_SYNC:
        log(f"{message_id}: stock records unavailable; reading the stock of every live product again")
        live = {
            item["product_id"]: [str(s["sku_id"]) for s in item.get("skus") or [] if s.get("sku_id")]
            for item in scan_products(active_only=True)
        }
        report.stock_refreshed += refresh_stock(search.get(), ALIAS, live)
        return set()
    window = _arrival_window(info)
    if consumer == SEARCH_INDEXER:
        log(f"{message_id}: stream records unavailable; re-indexing products changed in {window or 'any time'}")
        return {item["product_id"] for item in scan_products(active_only=False, changed_between=window)}
    if consumer == CACHE_INVALIDATOR:
        from functions.catalog.product_cache import invalidate

        log(
            f"{message_id}: stream records unavailable; invalidating the cached pages of products changed in {window or 'any time'}"
        )
        for item in scan_products(active_only=False, changed_between=window):
            invalidate(item["product_id"], int(item.get("version", 0)))
        return set()
    raise ReindexFailed(f"the stream no longer has the records and {consumer} has no fallback; recover it by hand")


def _is_stock_batch(info: dict[str, Any], records: list[dict[str, Any]]) -> bool:
    """A batch of the stock sync (inventory stream) rather than the catalog indexer: told by its
    records' keys, or, when the stream lost them, by the stream's table."""
    if records:
        return any(is_stock_key(deserialize_image(record["dynamodb"].get("Keys"))) for record in records)
    table = str(info.get("streamArn", "")).split(":table/", 1)[-1].split("/stream/", 1)[0]
    return bool(table) and table == os.environ.get("INVENTORY_TABLE_NAME")


def reconcile(client: Any, product_ids: set[str]) -> int:
    """Make these products' documents match the table now (versioned writes through the alias)."""
    if not product_ids:
        return 0
    current = get_products(product_ids)
    actions = [from_item(item) for item in current.values()]
    # Not in the table at all (read consistently): hard-deleted, so its document must go; ids
    # are never reused, so an unversioned delete cannot hit a later product.
    actions += [IndexAction(pid, "delete", None) for pid in sorted(product_ids - set(current))]
    write(client, ALIAS, actions)
    return len(actions)


# -- reading the stream ---------------------------------------------------------------------------


def read_batch(streams: Any, info: dict[str, Any]) -> StreamBatch:
    """The batch's records, in Lambda's event shape; incomplete if the stream lost any of them."""
    start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
    arn = info["streamArn"]
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=info["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )["ShardIterator"]
    except Exception as exc:  # TrimmedDataAccess, ResourceNotFound (stream gone), a moved shard...
        if not _is_stream_gone(exc):
            raise
        return StreamBatch([], complete=False)
    records: list[dict[str, Any]] = []
    empty_reads = 0
    while iterator and empty_reads < MAX_EMPTY_READS:
        try:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
        except Exception as exc:
            if not _is_stream_gone(exc):
                raise
            break
        iterator = response.get("NextShardIterator")
        page = response.get("Records") or []
        if not page:
            empty_reads += 1
            continue
        for raw in page:
            sequence = raw["dynamodb"]["SequenceNumber"]
            if int(sequence) > int(end):
                iterator = None
                break
            records.append(to_lambda_record(raw, arn))
            if sequence == end:
                iterator = None
                break
    complete = (
        bool(records) and records[0]["dynamodb"]["SequenceNumber"] == start and records[-1]["dynamodb"]["SequenceNumber"] == end
    )
    return StreamBatch(records, complete)


def _is_stream_gone(exc: Exception) -> bool:
    code = error_code(exc)
    return code in ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException", "ValidationException")


def _arrival_window(info: dict[str, Any]) -> tuple[datetime, datetime] | None:
    first, last = (
        info.get("approximateArrivalOfFirstRecord"),
        info.get("approximateArrivalOfLastRecord") or info.get("approximateArrivalOfFirstRecord"),
    )
    if not first:
        return None  # no window: every product is reconciled
    start = datetime.fromisoformat(str(first).replace("Z", "+00:00")).astimezone(UTC)
    end = datetime.fromisoformat(str(last).replace("Z", "+00:00")).astimezone(UTC)
    return start - WINDOW_MARGIN, end + WINDOW_MARGIN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.replay_failures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True, help="a stream consumer's on-failure SQS queue (<Consumer>FailureQueue)")
    parser.add_argument("--consumer", help="the StreamConsumer id (infra/topology.py); default: the one each message names")
    parser.add_argument("--max-messages", type=int, default=1000)
    parser.add_argument("--wait-seconds", type=int, default=1, help="long-poll wait before deciding the queue is empty")
    args = parser.parse_args(argv)
    report = replay(
        args.queue_url,
        consumer=args.consumer,
        max_messages=args.max_messages,
        wait_seconds=args.wait_seconds,
        log=lambda m: print(m, file=sys.stderr),
    )
    print(json.dumps(asdict(report)))
    return 0 if not report.kept else 1


if __name__ == "__main__":
    sys.exit(main())
