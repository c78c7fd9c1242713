"""The stream indexer against osmem-server: versions, deletes, failures reported per record."""

from __future__ import annotations

import random
from typing import Any

import pytest

from functions.search import mapping
from functions.search.client import get_client
from functions.search.consumers import indexer
from local.lambda_runtime import LambdaContext
from tests.search.conftest import (
    closed_url,
    get_doc,
    indexed_ids,
    live_doc,
    product,
    refresh,
    sequences,
    stream_record,
    use_search_url,
)


def run(records: list[dict[str, Any]]) -> dict[str, Any]:
    response = indexer.handler({"Records": records}, LambdaContext("SearchIndexer", 512, 60, "req-1"))
    refresh_if_possible()
    return response


def refresh_if_possible() -> None:
    try:
        refresh()
    except Exception:  # OpenSearch "down" in some tests
        pass


def versions(product: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The item as it was after each of its first `count` writes (title says which)."""
    return [{**product, "version": v, "title": f"{product['title']} v{v}"} for v in range(1, count + 1)]


def test_first_batch_creates_the_versioned_index_behind_the_alias(search_env: Any) -> None:
    # GIVEN a cluster without the products index WHEN the first record arrives
    item = product("Lamp")
    assert run([stream_record("INSERT", new=item)]) == {"batchItemFailures": []}
    # THEN products-v1 exists behind the alias (and behind its own write alias), with our
    # mappings, holding the document
    client = get_client()
    assert mapping.indices_behind_alias(client) == ["products-v1"]
    assert client.indices.exists_alias(index="products-v1", name="products-v1-writer")
    properties = client.indices.get_mapping(index="products-v1")["products-v1"]["mappings"]["properties"]
    assert properties["category_path"]["type"] == "keyword" and properties["suggest"]["type"] == "completion"
    assert get_doc(item["product_id"])["_version"] == 1


def test_duplicated_and_out_of_order_records_leave_the_newest_version(search_env: Any) -> None:
    # GIVEN three writes of product A and two of product B, as stream records
    a = versions(product("Alpha"), 3)
    b = versions(product("Beta"), 2)
    records = [stream_record("INSERT" if i == 0 else "MODIFY", new=item) for i, item in enumerate(a)]
    records += [stream_record("INSERT" if i == 0 else "MODIFY", new=item) for i, item in enumerate(b)]
    # WHEN they are delivered shuffled, then all of them again in reverse, and then one record
    # per batch in another shuffled order (each one a separate read-merge-write)
    shuffled = random.Random(7).sample(records, len(records))
    assert run(shuffled) == {"batchItemFailures": []}
    assert run(list(reversed(records))) == {"batchItemFailures": []}
    for record in random.Random(8).sample(records, len(records)):
        assert run([record]) == {"batchItemFailures": []}
    # THEN each document is the newest write, whatever arrived last
    doc_a, doc_b = get_doc(a[0]["product_id"]), get_doc(b[0]["product_id"])
    assert (doc_a["_source"]["catalog_version"], doc_a["_source"]["title"]) == (3, "Alpha v3")
    assert (doc_b["_source"]["catalog_version"], doc_b["_source"]["title"]) == (2, "Beta v2")


def test_a_delete_is_not_undone_by_a_stale_update(search_env: Any) -> None:
    # GIVEN a product indexed at v1 and v2, then soft-deleted (v3)
    live = versions(product("Gamma"), 2)
    deleted = {**live[-1], "version": 3, "status": "DELETED"}
    assert run([stream_record("INSERT", new=live[0]), stream_record("MODIFY", new=live[1]), stream_record("MODIFY", new=deleted)]) == {
        "batchItemFailures": []
    }
    assert live_doc(live[0]["product_id"]) is None
    # WHEN the older updates are redelivered after the delete, together and one by one
    assert run([stream_record("MODIFY", new=live[1]), stream_record("INSERT", new=live[0])]) == {"batchItemFailures": []}
    assert run([stream_record("MODIFY", new=live[1])]) == {"batchItemFailures": []}
    # THEN the product stays deleted: its tombstone holds the delete's version
    assert live_doc(live[0]["product_id"]) is None
    assert live[0]["product_id"] not in indexed_ids()
    tombstone = get_doc(live[0]["product_id"])["_source"]
    assert (tombstone["status"], tombstone["catalog_version"]) == ("DELETED", 3)


def test_a_remove_deletes_and_outranks_the_image_it_removed(search_env: Any) -> None:
    # GIVEN a product at v4, then removed from the table (REMOVE carries the v4 old image)
    item = {**product("Delta"), "version": 4}
    assert run([stream_record("INSERT", new=item), stream_record("REMOVE", old=item)]) == {"batchItemFailures": []}
    assert live_doc(item["product_id"]) is None
    # WHEN the v4 write is redelivered THEN it does not come back (the delete was v5)
    assert run([stream_record("MODIFY", new=item)]) == {"batchItemFailures": []}
    assert live_doc(item["product_id"]) is None
    assert get_doc(item["product_id"])["_source"]["catalog_version"] == 5


def test_only_product_records_are_indexed(search_env: Any) -> None:
    category = {"pk": "CATEGORY", "sk": "CATEGORY#cat_9", "category_id": "cat_9", "name": "Garden"}
    item = product("Shovel")
    assert run([stream_record("INSERT", new=category), stream_record("INSERT", new=item)]) == {"batchItemFailures": []}
    assert indexed_ids() == {item["product_id"]}


def test_opensearch_down_fails_every_record_and_redelivery_indexes_them(search_env: Any) -> None:
    # GIVEN a batch of five products and an unreachable OpenSearch
    items = [product(f"Widget {i}") for i in range(5)]
    records = [stream_record("INSERT", new=item) for item in items]
    use_search_url(closed_url())
    # WHEN the batch is delivered
    response = run(records)
    # THEN every record is reported, so Lambda retries them all (none is swallowed)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == sequences(records)
    # WHEN OpenSearch is back and Lambda redelivers the batch
    use_search_url(search_env.url)
    # THEN everything is indexed and nothing is reported
    assert run(records) == {"batchItemFailures": []}
    assert indexed_ids() == {item["product_id"] for item in items}


def test_a_record_opensearch_rejects_fails_alone(search_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN three records, the middle one's document unacceptable to the index (a text price)
    items = [product("One"), product("Two"), product("Three")]
    records = [stream_record("INSERT", new=item) for item in items]
    translate = indexer.from_stream_record

    def poisoned(record: dict[str, Any]) -> Any:
        action = translate(record)
        if action.document["title"] == "Two":
            action.document["price_min"] = "not a number"
        return action

    monkeypatch.setattr(indexer, "from_stream_record", poisoned)
    # WHEN the batch is indexed
    response = run(records)
    # THEN exactly that record is reported and the others are in the index
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert indexed_ids() == {items[0]["product_id"], items[2]["product_id"]}


def test_an_untranslatable_record_fails_alone(search_env: Any) -> None:
    good, bad = product("Fine"), {**product("Broken"), "created_at": "not a date"}
    records = [stream_record("INSERT", new=bad), stream_record("INSERT", new=good)]
    response = run(records)
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert indexed_ids() == {good["product_id"]}


def test_a_deleted_alias_is_recreated_without_failing_the_batch(search_env: Any) -> None:
    # GIVEN an indexer that already saw the alias, and then the index is deleted behind its back
    first = product("Before")
    assert run([stream_record("INSERT", new=first)]) == {"batchItemFailures": []}
    get_client().indices.delete(index="products-v1")
    # WHEN the next batch arrives
    second = product("After")
    response = run([stream_record("INSERT", new=second)])
    # THEN the alias is back (no stray concrete "products" index) and the record indexed
    assert response == {"batchItemFailures": []}
    assert mapping.indices_behind_alias(get_client()) == ["products-v1"]
    assert indexed_ids() == {second["product_id"]}


def test_search_before_anything_was_indexed_is_empty_not_an_error(search_env: Any) -> None:
    # GIVEN a cluster where nothing was ever indexed (no alias) WHEN searching and suggesting
    from functions.search.handlers import search, suggest
    from tests.search.test_search import call

    status, body = call(search, "search", {"q": ["tee"]})
    # THEN both answer 200 with nothing, not an error
    assert status == 200 and body["data"]["items"] == [] and body["data"]["total"] == 0
    assert len(body["data"]["facets"]["price"]) == 6
    status, body = call(suggest, "suggest", {"q": ["te"]})
    assert status == 200 and body["data"] == {"suggestions": []}


def test_the_sample_stream_event_is_indexed(search_env: Any) -> None:
    # GIVEN events/search/indexer.json: insert + update of one product, a soft delete,
    # a REMOVE and a category record
    import json
    from pathlib import Path

    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "search" / "indexer.json").read_text())
    # WHEN the indexer handles it
    assert run(event["Records"]) == {"batchItemFailures": []}
    # THEN only the live product is searchable, at its latest version
    assert indexed_ids() == {"prd_01KAXYZ0000000000000000001"}
    doc = get_doc("prd_01KAXYZ0000000000000000001")
    assert (doc["_source"]["catalog_version"], doc["_source"]["title"]) == (2, "Blue Cotton T-Shirt (Organic)")
    assert doc["_source"]["colors"] == ["blue"] and doc["_source"]["sizes"] == ["l", "m"]
