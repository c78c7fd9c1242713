"""ops.replay_failures: batches that failed into the indexer's DLQ are re-driven from the stream
(or, when the stream no longer has them, re-read from the table) and their messages deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions.search import mapping
from functions.search.client import get_client
from ops import replay_failures, search_reindex
from tests.search.conftest import (
    Catalog,
    closed_url,
    get_doc,
    indexed_ids,
    live_doc,
    product,
    put_product,
    refresh,
    soft_delete,
    unique_category,
    use_search_url,
)


def fail_into_the_dlq(catalog: Catalog, search_url: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Write products while OpenSearch is down: the mapping (no retries) sends the batch to the DLQ."""
    use_search_url(closed_url())
    for item in items:
        put_product(item)
    catalog.drain()
    use_search_url(search_url)
    [message] = catalog.dlq_messages()
    return message


def replay(catalog: Catalog) -> replay_failures.ReplayReport:
    report = replay_failures.replay(catalog.queue_url, sqs=catalog.sqs, streams=catalog.streams, wait_seconds=0, log=lambda _: None)
    refresh()
    return report


def test_a_batch_on_the_dlq_is_redriven_from_the_stream_and_its_message_deleted(catalog: Catalog, search_env: Any) -> None:
    # GIVEN three products whose stream batch failed (OpenSearch down) and landed on the DLQ
    items = [product(f"Replay Lamp {i}", category_path=[unique_category()], created_at=datetime.now(UTC)) for i in range(3)]
    message = fail_into_the_dlq(catalog, search_env.url, items)
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 3
    ids = {item["product_id"] for item in items}
    assert not ids & indexed_ids()
    # WHEN the DLQ is replayed with OpenSearch back
    report = replay(catalog)
    # THEN the records were read again from the stream and indexed, and the message is gone
    assert (report.messages, report.deleted, report.kept, report.fallbacks) == (1, 1, 0, 0)
    assert report.records_redriven == 3
    assert ids <= indexed_ids()
    assert catalog.dlq_messages() == []


def test_when_the_stream_lost_the_records_products_changed_in_the_window_are_reindexed(catalog: Catalog, search_env: Any) -> None:
    # GIVEN a DLQ message whose records the stream no longer has (trimmed after 24 h, or the
    # stream was replaced): here it names a stream that does not exist
    item = product("Replay Trimmed Vase", category_path=[unique_category()], created_at=datetime.now(UTC))
    message = fail_into_the_dlq(catalog, search_env.url, [item])
    body = json.loads(message["Body"])
    body["DDBStreamBatchInfo"]["streamArn"] = body["DDBStreamBatchInfo"]["streamArn"].replace("/stream/", "-gone/stream/")
    catalog.sqs.delete_message(QueueUrl=catalog.queue_url, ReceiptHandle=message["ReceiptHandle"])
    catalog.sqs.send_message(QueueUrl=catalog.queue_url, MessageBody=json.dumps(body))
    # WHEN it is replayed
    report = replay(catalog)
    # THEN the product changed in the batch's time window is indexed from the table, and the message deleted
    assert (report.deleted, report.fallbacks, report.records_redriven) == (1, 1, 0)
    assert get_doc(item["product_id"])["_source"]["title"] == "Replay Trimmed Vase"
    assert catalog.dlq_messages() == []


def test_replaying_an_old_update_never_resurrects_a_deleted_product(catalog: Catalog, search_env: Any) -> None:
    # GIVEN a product whose creation failed into the DLQ, later soft-deleted (indexed fine), and
    # then the index rebuilt (which keeps its tombstone), and then even that tombstone lost, so
    # nothing in the index remembers the delete
    item = product("Replay Ghost Rug", category_path=[unique_category()], created_at=datetime.now(UTC))
    fail_into_the_dlq(catalog, search_env.url, [item])
    soft_delete(item["product_id"])
    catalog.drain()
    search_reindex.reindex(grace_seconds=0, log=lambda _: None)
    assert get_doc(item["product_id"])["_source"]["status"] == "DELETED"
    get_client().delete(index=mapping.ALIAS, id=item["product_id"], refresh="true")
    # WHEN the DLQ is replayed: the old INSERT is re-driven into an index that has never seen it
    report = replay(catalog)
    # THEN reconciling with the table deletes it again: the product stays out of search
    assert report.deleted == 1 and report.records_redriven == 1
    assert live_doc(item["product_id"]) is None
    assert item["product_id"] not in indexed_ids()


def test_a_message_that_cannot_be_replayed_stays_on_the_queue(catalog: Catalog, search_env: Any, capsys: Any) -> None:
    # GIVEN a message that is no on-failure record, and OpenSearch up
    catalog.sqs.send_message(QueueUrl=catalog.queue_url, MessageBody=json.dumps({"hello": "world"}))
    # WHEN the command runs
    code = replay_failures.main(["--queue-url", catalog.queue_url, "--wait-seconds", "0"])
    # THEN it reports the message as kept, exits non-zero, and the message is still there
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and (report["kept"], report["deleted"]) == (1, 0)
    assert "DDBStreamBatchInfo" in report["errors"][0]
    catalog.empty_dlq()
