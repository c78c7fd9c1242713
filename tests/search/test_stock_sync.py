"""The `in_stock` filter fed by the inventory stream (functions/search/consumers/stock_sync.py), and the two
writers of one document: the catalog indexer and the stock sync never lose each other's changes,
whatever the order or the interleaving (docs/decisions/0010-search-document-concurrency.md)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from functions.inventory.stock import stock_levels
from functions.search import mapping, writer
from functions.search.client import get_client
from functions.search.consumers import indexer, stock_sync
from functions.search.documents import StockChange, from_item, to_document
from functions.search.handlers.search import run_search
from functions.search.queries import SearchParams
from local.call_counter import count_dynamodb_calls
from local.lambda_runtime import LambdaContext
from ops import replay_failures, search_reindex
from tests.search.conftest import (
    Catalog,
    Interleaving,
    Inventory,
    closed_url,
    get_doc,
    indexed_ids,
    live_doc,
    product,
    put_product,
    refresh,
    rename,
    sequences,
    sku,
    soft_delete,
    stock_item,
    stock_record,
    stream_record,
    unique_category,
    use_search_url,
)


def index(records: list[dict[str, Any]]) -> dict[str, Any]:
    response = indexer.handler({"Records": records}, LambdaContext("SearchIndexer", 512, 60, "req-1"))
    refresh()
    return response


def sync(records: list[dict[str, Any]]) -> dict[str, Any]:
    response = stock_sync.handler({"Records": records}, LambdaContext("SearchStockSync", 512, 60, "req-1"))
    refresh()
    return response


def stock_of(product_id: str) -> dict[str, tuple[int, int]]:
    source = get_doc(product_id)["_source"]
    return {sku_id: (entry["available"], entry["version"]) for sku_id, entry in source.get("stock", {}).items()}


def found(word: str, **filters: Any) -> set[str]:
    return {item["product_id"] for item in run_search(SearchParams(q=word, limit=100, **filters))["items"]}


def no_stock_items(skus: list[str]) -> dict[str, tuple[int, int]]:
    return {}


NO_FAILURES = {"batchItemFailures": []}


# -- ordering ---------------------------------------------------------------------------------


def test_duplicated_and_out_of_order_stock_records_leave_the_newest_stock_version(search_env: Any) -> None:
    # GIVEN an indexed product with two SKUs, neither with stock yet
    item = product("Stock Order Lamp", skus=[sku("red", None, 1000), sku("blue", None, 1200)])
    a, b = (s["sku_id"] for s in item["skus"])
    pid = item["product_id"]
    assert index([stream_record("INSERT", new=item)]) == NO_FAILURES
    assert get_doc(pid)["_source"]["in_stock"] is False
    # AND the stock records of both SKUs: A 5 -> 0 -> 2, B 0 -> 0
    history = [stock_item(a, pid, 5, 1), stock_item(a, pid, 0, 2), stock_item(a, pid, 2, 3), stock_item(b, pid, 0, 1), stock_item(b, pid, 0, 2)]
    records = [stock_record("INSERT" if image["version"] == 1 else "MODIFY", new=image) for image in history]
    # WHEN they are delivered shuffled with a duplicate, then in reverse, then one per batch
    shuffled = random.Random(3).sample(records, len(records))
    assert sync([*shuffled, stock_record("MODIFY", new=history[0])]) == NO_FAILURES
    assert sync(list(reversed(records))) == NO_FAILURES
    for record in random.Random(4).sample(records, len(records)):
        assert sync([record]) == NO_FAILURES
    # THEN each SKU holds its newest stock version, and the product is in stock (A has 2)
    assert stock_of(pid) == {a: (2, 3), b: (0, 2)}
    assert get_doc(pid)["_source"]["in_stock"] is True
    # WHEN A sells out (v4) and its older records are redelivered afterwards
    assert sync([stock_record("MODIFY", new=stock_item(a, pid, 0, 4))]) == NO_FAILURES
    assert sync([records[2], records[0]]) == NO_FAILURES
    # THEN the product stays out of stock
    assert stock_of(pid) == {a: (0, 4), b: (0, 2)}
    assert get_doc(pid)["_source"]["in_stock"] is False


def test_in_stock_true_hides_a_sold_out_product_and_no_filter_still_finds_it(search_env: Any) -> None:
    # GIVEN two products with one word in common, one in stock and one sold out
    word = "quokkaware"
    stocked, sold_out = product(f"{word} Mug"), product(f"{word} Plate")
    index([stream_record("INSERT", new=stocked), stream_record("INSERT", new=sold_out)])
    sync(
        [
            stock_record("INSERT", new=stock_item(stocked["skus"][0]["sku_id"], stocked["product_id"], 3, 1)),
            stock_record("INSERT", new=stock_item(sold_out["skus"][0]["sku_id"], sold_out["product_id"], 0, 1)),
        ]
    )
    # WHEN searching with and without the filter THEN only the filter hides the sold-out one
    assert found(word, in_stock=True) == {stocked["product_id"]}
    assert found(word) == found(word, in_stock=False) == {stocked["product_id"], sold_out["product_id"]}
    # WHEN it is restocked THEN the filter finds it again
    sync([stock_record("MODIFY", new=stock_item(sold_out["skus"][0]["sku_id"], sold_out["product_id"], 4, 2))])
    assert found(word, in_stock=True) == {stocked["product_id"], sold_out["product_id"]}


def test_only_the_skus_a_product_lists_now_count(search_env: Any) -> None:
    # GIVEN a product whose only in-stock SKU is B
    item = product("Stock Prune Chair", skus=[sku("oak", None, 5000), sku("pine", None, 4000)])
    a, b = (s["sku_id"] for s in item["skus"])
    index([stream_record("INSERT", new=item)])
    sync([stock_record("INSERT", new=stock_item(a, item["product_id"], 0, 1)), stock_record("INSERT", new=stock_item(b, item["product_id"], 6, 1))])
    assert get_doc(item["product_id"])["_source"]["in_stock"] is True
    # WHEN the seller removes SKU B from the product
    index([stream_record("MODIFY", new={**item, "version": 2, "skus": item["skus"][:1]})])
    # THEN B's stock no longer counts: the product is out of stock
    source = get_doc(item["product_id"])["_source"]
    assert (source["sku_ids"], source["in_stock"], stock_of(item["product_id"])) == ([a], False, {a: (0, 1)})


# -- products and stock arriving in any order -------------------------------------------------


def test_a_new_product_reads_its_stock_in_one_batch_read_and_is_right_from_the_start(search_env: Any, inventory: Inventory) -> None:
    # GIVEN a product with three SKUs, two of which already have stock items (the third has none)
    item = product("Stock Fresh Kettle", skus=[sku("red", None, 900), sku("blue", None, 900), sku("green", None, 900)])
    a, b, c = (s["sku_id"] for s in item["skus"])
    inventory.put_stock(a, item["product_id"], 0, 3)
    inventory.put_stock(b, item["product_id"], 7, 2)
    # WHEN the catalog indexer indexes it (no stock record has been synced)
    with count_dynamodb_calls(mentioning=(a, b, c)) as calls:
        assert index([stream_record("INSERT", new=item)]) == NO_FAILURES
    # THEN it read the stock of all three SKUs in one BatchGetItem, and the product is in stock
    assert calls == Counter({"BatchGetItem": 1})
    assert stock_of(item["product_id"]) == {a: (0, 3), b: (7, 2)}
    assert get_doc(item["product_id"])["_source"]["in_stock"] is True
    # AND an update that adds no SKU reads no stock at all
    with count_dynamodb_calls(mentioning=(a, b, c)) as calls:
        assert index([stream_record("MODIFY", new={**item, "version": 2, "title": "Stock Fresh Kettle II"})]) == NO_FAILURES
    assert calls == Counter()


def test_stock_before_the_product_waits_in_a_stub_that_search_never_shows(search_env: Any) -> None:
    # GIVEN stock for a product the index has not seen yet
    item = product("Stock Early Vase")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    assert sync([stock_record("INSERT", new=stock_item(a, pid, 9, 1))]) == NO_FAILURES
    # THEN it is held in a stub: no result, no facet, no suggestion
    assert get_doc(pid)["_source"]["status"] == "STUB" and pid not in indexed_ids()
    assert run_search(SearchParams())["total"] == 0
    from functions.search.handlers.suggest import suggestions

    assert suggestions("stock", 10) == []
    # WHEN the product's catalog record arrives (the table read finds no stock item: stale or not)
    assert indexer.apply_actions([from_item(item)], read_stock=no_stock_items) == [None]
    refresh()
    # THEN the document is the product, with the stock the stub held
    source = get_doc(pid)["_source"]
    assert (source["status"], source["title"], source["in_stock"], stock_of(pid)) == ("ACTIVE", "Stock Early Vase", True, {a: (9, 1)})


def test_stock_after_a_delete_never_brings_the_product_back(search_env: Any) -> None:
    item = product("Stock Gone Rug")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    index([stream_record("INSERT", new=item), stream_record("MODIFY", new={**item, "version": 2, "status": "DELETED"})])
    # WHEN a restock arrives for the deleted product
    assert sync([stock_record("MODIFY", new=stock_item(a, pid, 50, 4))]) == NO_FAILURES
    # THEN it stays a tombstone, out of search
    assert live_doc(pid) is None and get_doc(pid)["_source"]["status"] == "DELETED"
    assert pid not in found("rug", in_stock=True)


def test_a_stock_item_removed_from_the_table_counts_as_sold_out(search_env: Any) -> None:
    item = product("Stock Removed Fan")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    index([stream_record("INSERT", new=item)])
    sync([stock_record("INSERT", new=stock_item(a, pid, 3, 5))])
    assert sync([stock_record("REMOVE", old=stock_item(a, pid, 3, 5))]) == NO_FAILURES
    assert stock_of(pid) == {a: (0, 6)} and get_doc(pid)["_source"]["in_stock"] is False


def test_a_stock_item_without_product_and_a_malformed_record(search_env: Any) -> None:
    # GIVEN a stock item from before stock items named their product, and a broken one
    legacy = {k: v for k, v in stock_item("sku_legacy", "", 4, 1).items() if k != "product_id"}
    broken = {**stock_item("sku_broken", "prd_x", 1, 1), "available": "lots"}
    records = [stock_record("INSERT", new=legacy), stock_record("INSERT", new=broken)]
    # WHEN synced THEN the first cannot be attributed (done, logged; a reindex picks it up) and
    # the second fails alone; nothing was written
    assert sync_unrefreshed(records) == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert mapping.versioned_indices(get_client()) == []


# -- two writers, interleaved ------------------------------------------------------------------


def test_a_catalog_update_and_a_stock_change_between_its_read_and_write_both_survive(search_env: Any) -> None:
    # GIVEN an indexed product with two sold-out SKUs
    item = product("Race Teapot", skus=[sku("red", None, 1000), sku("blue", None, 1000)])
    pid = item["product_id"]
    a, b = (s["sku_id"] for s in item["skus"])
    index([stream_record("INSERT", new=item)])
    sync([stock_record("INSERT", new=stock_item(a, pid, 0, 1)), stock_record("INSERT", new=stock_item(b, pid, 0, 1))])
    client = get_client()

    # WHEN the catalog indexer renames it, and the stock sync restocks B after the indexer read
    # the document and before it writes
    def restock() -> None:
        assert stock_sync.apply_stock_changes([StockChange(pid, b, 5, 2)], client=client) == [None]

    racing = Interleaving(client, restock)
    renamed = {**item, "version": 2, "title": "Race Teapot Deluxe"}
    assert indexer.apply_actions([from_item(renamed)], client=racing, read_stock=no_stock_items) == [None]
    # THEN the indexer's first write was refused and it merged again: both changes are there
    assert racing.bulks == 2
    source = get_doc(pid)["_source"]
    assert (source["title"], source["catalog_version"], source["in_stock"]) == ("Race Teapot Deluxe", 2, True)
    assert stock_of(pid) == {a: (0, 1), b: (5, 2)}

    # WHEN it goes the other way round: the stock sync sells B out, and the indexer writes a
    # new price between the stock sync's read and its write
    def reprice() -> None:
        repriced = {**renamed, "version": 3, "skus": [{**s, "price": 800} for s in item["skus"]]}
        assert indexer.apply_actions([from_item(repriced)], client=client, read_stock=no_stock_items) == [None]

    racing = Interleaving(client, reprice)
    assert stock_sync.apply_stock_changes([StockChange(pid, b, 0, 3)], client=racing) == [None]
    # THEN both survive again
    assert racing.bulks == 2
    refresh()
    source = get_doc(pid)["_source"]
    assert (source["title"], source["price_min"], source["catalog_version"], source["in_stock"]) == ("Race Teapot Deluxe", 800, 3, False)
    assert stock_of(pid) == {a: (0, 1), b: (0, 3)}


def test_stock_read_by_the_indexer_then_changed_before_its_write_is_not_overwritten(search_env: Any, inventory: Inventory) -> None:
    # GIVEN an indexed product with SKU A, and a SKU C the seller is adding, sold out in the table
    item = product("Race Lantern")
    pid = item["product_id"]
    index([stream_record("INSERT", new=item)])
    c = sku("green", None, 1500)
    inventory.put_stock(c["sku_id"], pid, 0, 1)
    client = get_client()
    reads = []

    def read_then_restock(skus: list[str]) -> dict[str, tuple[int, int]]:
        levels = stock_levels(skus)  # what the indexer sees: C sold out (v1)
        reads.append(levels)
        if len(reads) == 1:
            # ... and right after its read, C is restocked and the stock sync writes that (v2)
            inventory.put_stock(c["sku_id"], pid, 8, 2)
            assert stock_sync.apply_stock_changes([StockChange(pid, c["sku_id"], 8, 2)], client=client) == [None]
        return levels

    # WHEN the indexer applies the update that adds C, with the stock it read first
    added = {**item, "version": 2, "skus": [*item["skus"], c]}
    assert indexer.apply_actions([from_item(added)], client=client, read_stock=read_then_restock) == [None]
    refresh()
    # THEN its write conflicted with the stock sync's, it merged again, and C is in stock (v2)
    assert reads[0] == {c["sku_id"]: (0, 1)} and len(reads) == 2
    assert stock_of(pid) == {c["sku_id"]: (8, 2)}
    assert get_doc(pid)["_source"]["in_stock"] is True


def test_a_record_that_loses_every_race_is_reported_and_its_redelivery_applies(search_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an indexed product, and a stock sync that writes it before each of the indexer's writes
    item = product("Race Stool")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    index([stream_record("INSERT", new=item)])
    client = get_client()
    versions = iter(range(1, 100))

    def restock() -> None:
        stock_sync.apply_stock_changes([StockChange(pid, a, 1, next(versions))], client=client)

    racing = Interleaving(client, restock, times=writer.MAX_ROUNDS)
    monkeypatch.setattr(writer, "get_client", lambda: racing)
    # WHEN a rename arrives THEN the record is reported failed (Lambda will retry it)
    record = stream_record("MODIFY", new={**item, "version": 2, "title": "Race Stool Tall"})
    assert index([record]) == {"batchItemFailures": [{"itemIdentifier": sequences([record])[0]}]}
    assert get_doc(pid)["_source"]["title"] == "Race Stool"
    # WHEN Lambda redelivers it THEN it is applied, and every stock change made meanwhile is kept
    assert index([record]) == NO_FAILURES
    assert get_doc(pid)["_source"]["title"] == "Race Stool Tall"
    assert stock_of(pid) == {a: (1, writer.MAX_ROUNDS)} and get_doc(pid)["_source"]["in_stock"] is True


def test_opensearch_down_fails_every_stock_record_and_redelivery_applies_them(search_env: Any) -> None:
    item = product("Stock Outage Desk")
    index([stream_record("INSERT", new=item)])
    records = [stock_record("INSERT", new=stock_item(item["skus"][0]["sku_id"], item["product_id"], 2, 1))]
    use_search_url(closed_url())
    assert [f["itemIdentifier"] for f in sync_unrefreshed(records)["batchItemFailures"]] == sequences(records)
    use_search_url(search_env.url)
    assert sync(records) == NO_FAILURES
    assert get_doc(item["product_id"])["_source"]["in_stock"] is True


def sync_unrefreshed(records: list[dict[str, Any]]) -> dict[str, Any]:
    return stock_sync.handler({"Records": records}, LambdaContext("SearchStockSync", 512, 60, "req-1"))


# -- a hot SKU's buckets (ADR 0022) ------------------------------------------------------------


def put_buckets(inventory: Inventory, sku_id: str, product_id: str, levels: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Write a hot SKU's stock as its buckets: bucket 0 (the stock item, naming the product and
    how many buckets exist) and buckets 1.. (STOCK#nn, naming no product): (available, version) each."""
    import boto3

    from tests.search.conftest import _image

    items = []
    for index, (available, version) in enumerate(levels):
        if index == 0:
            item = {**stock_item(sku_id, product_id, available, version), "buckets": len(levels), "bucket_items": len(levels)}
        else:
            item = {"pk": f"SKU#{sku_id}", "sk": f"STOCK#{index:02d}", "sku_id": sku_id, "bucket": index,
                    "on_hand": available, "reserved": 0, "available": available, "version": version}
        boto3.client("dynamodb").put_item(TableName=inventory.table_name, Item=_image(item))
        items.append(item)
    return items


def put_bucket(inventory: Inventory, sku_id: str, index: int, available: int, version: int) -> dict[str, Any]:
    import boto3

    from tests.search.conftest import _image

    item = {"pk": f"SKU#{sku_id}", "sk": f"STOCK#{index:02d}", "sku_id": sku_id, "bucket": index,
            "on_hand": available, "reserved": 0, "available": available, "version": version}
    boto3.client("dynamodb").put_item(TableName=inventory.table_name, Item=_image(item))
    return item


def test_any_buckets_change_moves_a_hot_skus_in_stock_at_the_summed_version(search_env: Any, inventory: Inventory) -> None:
    # GIVEN an indexed product whose SKU is hot: 3 buckets, all sold out (versions 5 + 2 + 2)
    item = product("Hot Bucket Lamp")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    assert index([stream_record("INSERT", new=item)]) == NO_FAILURES
    put_buckets(inventory, a, pid, [(0, 5), (0, 2), (0, 2)])
    inventory.drain()
    refresh()
    assert stock_of(pid) == {a: (0, 9)} and pid not in found("bucket", in_stock=True)

    # WHEN only bucket 2 is restocked (bucket 0, the stock item, does not change), through the
    # stream consumer's deployed filter
    restocked = put_bucket(inventory, a, 2, 4, 3)
    inventory.drain()
    refresh()
    # THEN search shows the sum over the buckets at their summed version: in stock
    assert stock_of(pid) == {a: (4, 10)} and pid in found("bucket", in_stock=True)

    # WHEN bucket 1 takes 2 of them (the rebalancer) and bucket 2 then sells out
    put_bucket(inventory, a, 1, 2, 3)
    put_bucket(inventory, a, 2, 0, 4)
    inventory.drain()
    refresh()
    assert stock_of(pid) == {a: (2, 12)} and pid in found("bucket", in_stock=True)
    put_bucket(inventory, a, 1, 0, 4)
    inventory.drain()
    refresh()
    # THEN it is sold out in search, though bucket 0 never changed
    assert stock_of(pid) == {a: (0, 13)} and pid not in found("bucket", in_stock=True)

    # WHEN an old bucket record and an old stock-item record are redelivered, and a stale sum
    # arrives out of order
    assert sync([stock_record("MODIFY", new=restocked), stock_record("MODIFY", new=stock_item(a, pid, 0, 5))]) == NO_FAILURES
    assert stock_sync.apply_stock_changes([StockChange(pid, a, 4, 10)]) == [None]
    refresh()
    # THEN nothing moves backwards: the newest sum stays (idempotent, newest wins)
    assert stock_of(pid) == {a: (0, 13)} and pid not in found("bucket", in_stock=True)


def test_a_batch_of_many_bucket_records_reads_the_sum_once(search_env: Any, inventory: Inventory) -> None:
    # GIVEN an indexed product with a hot SKU over 4 buckets
    item = product("Hot Bucket Kettle")
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    index([stream_record("INSERT", new=item)])
    images = put_buckets(inventory, a, pid, [(1, 1), (1, 1), (1, 1), (1, 1)])
    # WHEN one batch brings a record of every bucket
    records = [stock_record("MODIFY", new=image) for image in images]
    with count_dynamodb_calls(mentioning=(a,)) as calls:
        assert sync(records) == NO_FAILURES
    # THEN the sum was read once for the SKU (stock item, then its buckets), and indexed
    assert calls == Counter({"BatchGetItem": 2})
    assert stock_of(pid) == {a: (4, 4)} and get_doc(pid)["_source"]["in_stock"] is True


# -- documents written before stock was indexed --------------------------------------------------


def test_a_document_from_before_stock_was_indexed_is_not_hidden_until_filled_in(search_env: Any, inventory: Inventory) -> None:
    # GIVEN a document written by the previous indexer: "version", no sku_ids, stock or in_stock
    item = product("Legacy Ottoman", version=4)
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    client = get_client()
    mapping.ensure_index(client)
    legacy = {k: v for k, v in to_document(item).items() if k not in ("catalog_version", "sku_ids")}
    client.index(index=mapping.ALIAS, id=pid, body={**legacy, "version": 4}, refresh="true")
    # THEN in_stock=true does not hide it (unknown is not "sold out"), even once stock arrives
    assert pid in found("ottoman", in_stock=True)
    assert sync([stock_record("INSERT", new=stock_item(a, pid, 0, 1))]) == NO_FAILURES
    assert pid in found("ottoman", in_stock=True)
    # AND its version still refuses older catalog records
    assert index([stream_record("MODIFY", new={**item, "version": 3, "title": "Legacy Older"})]) == NO_FAILURES
    assert get_doc(pid)["_source"]["title"] == "Legacy Ottoman"
    # WHEN the next catalog update arrives THEN the document is rebuilt with the stock from the table
    inventory.put_stock(a, pid, 0, 1)
    assert index([stream_record("MODIFY", new={**item, "version": 5})]) == NO_FAILURES
    source = get_doc(pid)["_source"]
    assert (source["catalog_version"], source["sku_ids"], source["in_stock"]) == (5, [a], False)
    assert pid not in found("ottoman", in_stock=True)


# -- reindex and replay ---------------------------------------------------------------------------


def searchable_documents(product_ids: set[str]) -> dict[str, dict[str, Any]]:
    response = get_client().search(index=mapping.ALIAS, body={"size": 1000, "query": {"ids": {"values": sorted(product_ids)}}})
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


def test_reindex_rebuilds_the_same_documents_and_keeps_stock_changed_during_the_copy(
    catalog: Catalog, inventory: Inventory, search_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN products indexed by the two stream writers: in stock, sold out, without stock items,
    # renamed, and deleted
    category = unique_category()
    items = [product(f"Reindex Stock {name}", category_path=[category]) for name in ("Bowl", "Cup", "Jar", "Tin", "Urn")]
    bowl, cup, jar, tin, urn = items
    for entry in items:
        put_product(entry)
    catalog.drain()
    inventory.put_stock(bowl["skus"][0]["sku_id"], bowl["product_id"], 4, 1)
    inventory.put_stock(cup["skus"][0]["sku_id"], cup["product_id"], 0, 1)
    inventory.put_stock(tin["skus"][0]["sku_id"], tin["product_id"], 2, 1)
    inventory.drain()
    rename(tin["product_id"], "Reindex Stock Tin Renamed")
    soft_delete(urn["product_id"])
    catalog.drain()
    ids = {entry["product_id"] for entry in items}
    before = searchable_documents(ids)
    assert {pid: doc.get("in_stock") for pid, doc in before.items()} == {
        bowl["product_id"]: True, cup["product_id"]: False, jar["product_id"]: False, tin["product_id"]: True, urn["product_id"]: None,
    }
    assert before[urn["product_id"]]["status"] == "DELETED"

    # WHEN the index is rebuilt from the tables (nothing changing meanwhile)
    search_reindex.reindex(grace_seconds=0, log=lambda _: None)
    # THEN every document is exactly what the stream writers had built
    assert searchable_documents(ids) == before

    # WHEN it is rebuilt again, and the bowl sells out while the copy runs (the stock sync
    # writes that to the OLD index)
    copy_scan = search_reindex.scan_products
    scans = []

    def scan_then_sell_out(**kwargs: Any) -> Any:
        scans.append(kwargs)
        yield from copy_scan(**kwargs)
        if len(scans) == 1:
            inventory.put_stock(bowl["skus"][0]["sku_id"], bowl["product_id"], 0, 2)
            inventory.drain()

    monkeypatch.setattr(search_reindex, "scan_products", scan_then_sell_out)
    report = search_reindex.reindex(grace_seconds=0, log=lambda _: None)
    # THEN the new index has the bowl sold out too
    assert report.stock_refreshed >= 3
    after = searchable_documents(ids)
    assert after[bowl["product_id"]]["in_stock"] is False and after[bowl["product_id"]]["stock"][bowl["skus"][0]["sku_id"]]["version"] == 2
    assert {pid: doc for pid, doc in after.items() if pid != bowl["product_id"]} == {
        pid: doc for pid, doc in before.items() if pid != bowl["product_id"]
    }


def test_a_stock_batch_on_the_dlq_is_redriven_through_the_stock_sync(
    catalog: Catalog, inventory: Inventory, search_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an indexed product whose restock failed into the stock sync's DLQ (OpenSearch down)
    item = product("Replay Stock Crate", category_path=[unique_category()])
    put_product(item)
    catalog.drain()
    pid, a = item["product_id"], item["skus"][0]["sku_id"]
    use_search_url(closed_url())
    inventory.put_stock(a, pid, 6, 1)
    inventory.drain()
    use_search_url(search_env.url)
    assert len(inventory.dlq_messages()) == 1
    assert get_doc(pid)["_source"]["in_stock"] is False
    # WHEN that DLQ is replayed
    report = replay_failures.replay(inventory.queue_url, sqs=inventory.sqs, streams=inventory.streams, wait_seconds=0, log=lambda _: None)
    refresh()
    # THEN the stock record went through the stock sync (not the catalog indexer) and the message is gone
    assert (report.deleted, report.records_redriven, report.fallbacks) == (1, 1, 0)
    assert stock_of(pid) == {a: (6, 1)} and get_doc(pid)["_source"]["in_stock"] is True
    assert inventory.dlq_messages() == []

    # WHEN the product sells out, that batch fails into the DLQ too, and by the time it is
    # replayed the stream no longer has its records (trimmed after 24 h, or a replaced stream)
    use_search_url(closed_url())
    inventory.put_stock(a, pid, 0, 2)
    inventory.drain()
    use_search_url(search_env.url)
    [lost] = inventory.dlq_messages()
    assert json.loads(lost["Body"])["DDBStreamBatchInfo"]["batchSize"] == 1
    # (moto cannot trim a stream: reading the batch answers "nothing left", as a trimmed shard does)
    monkeypatch.setattr(replay_failures, "read_batch", lambda streams, info: replay_failures.StreamBatch([], complete=False))
    report = replay_failures.replay(inventory.queue_url, sqs=inventory.sqs, streams=inventory.streams, wait_seconds=0, log=lambda _: None)
    refresh()
    # THEN the stock of live products is read again from the table: the sell-out is in search
    assert (report.deleted, report.fallbacks) == (1, 1) and report.stock_refreshed >= 1
    assert stock_of(pid) == {a: (0, 2)} and get_doc(pid)["_source"]["in_stock"] is False


def test_the_sample_stock_event_is_synced(search_env: Any) -> None:
    # GIVEN the product of events/search/indexer.json indexed, and events/search/stock_sync.json:
    # both SKUs stocked, SKU 1 then fully reserved, SKU 2 restocked, and a hold item
    from pathlib import Path

    events = Path(__file__).resolve().parents[2] / "events" / "search"
    assert index(json.loads((events / "indexer.json").read_text())["Records"]) == NO_FAILURES
    # WHEN the stock sync handles the sample
    assert sync(json.loads((events / "stock_sync.json").read_text())["Records"]) == NO_FAILURES
    # THEN each SKU has its newest stock, and the product is in stock through SKU 2 only
    pid = "prd_01KAXYZ0000000000000000001"
    assert stock_of(pid) == {"sku_01KAXYZ0000000000000000001": (0, 2), "sku_01KAXYZ0000000000000000002": (5, 2)}
    assert get_doc(pid)["_source"]["in_stock"] is True and pid in found("shirt", in_stock=True)
