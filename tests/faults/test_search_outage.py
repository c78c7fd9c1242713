"""Fault: OpenSearch goes down while the catalog and stock change (the indexer and the stock
sync cannot write). Either the stream's retries outlast the outage, or the batches are parked on
the on-failure queues and `ops.replay_failures` re-drives them: either way search ends up showing
every change, and nothing parked is lost."""

from __future__ import annotations

import uuid

import boto3

from ops import replay_failures
from tests.faults.conftest import queue_depth, queue_url, search_problems

INDEXER_DLQ, STOCK_SYNC_DLQ = "SearchIndexerFailureQueue", "SearchStockSyncFailureQueue"


def _word(product: dict) -> str:
    return product["title"].split()[-1]  # stocked_product's titles end with a unique word


def _found(api, **params) -> dict[str, dict]:
    response = api.get("/api/v1/search", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return {item["product_id"]: item for item in response.json()["data"]["items"]}


class Catalog:
    """Three products in search: one to reprice, one to rename and sell out, one to delete."""

    def __init__(self, seller, stocked_product, streams, stack) -> None:
        self.seller, self.stack = seller, stack
        self.repriced, self.renamed, self.deleted = stocked_product([3]), stocked_product([4]), stocked_product([2, 5])
        self.ids = [p["product_id"] for p in (self.repriced, self.renamed, self.deleted)]
        self.new_word = "quokka" + uuid.uuid4().hex[:6]
        streams.drain()
        assert search_problems(stack, self.ids) == []

    def change(self) -> None:
        seller, sku = self.seller, self.repriced["skus"][0]
        assert seller.request("PUT", f"/api/v1/products/{self.repriced['product_id']}",
                              json={"skus": [{"sku_id": sku["sku_id"], "price": 1234, "currency": "USD"}]}).status_code == 200
        renamed = seller.request("PUT", f"/api/v1/products/{self.renamed['product_id']}",
                                 json={"title": f"{self.renamed['title']} {self.new_word}"})
        assert renamed.status_code == 200, renamed.text
        sold_out = seller.request("PUT", f"/api/v1/inventory/{self.renamed['skus'][0]['sku_id']}", json={"on_hand": 0})
        assert sold_out.status_code == 200, sold_out.text
        assert seller.request("DELETE", f"/api/v1/products/{self.deleted['product_id']}").status_code == 204

    def assert_searchable(self, anonymous) -> None:
        """Search shows every change, and the index matches the tables."""
        assert search_problems(self.stack, self.ids) == []
        assert _found(anonymous, q=_word(self.repriced))[self.repriced["product_id"]]["price"] == 1234
        pid = self.renamed["product_id"]
        assert pid in _found(anonymous, q=self.new_word)
        assert pid not in _found(anonymous, q=self.new_word, in_stock="true")
        assert self.deleted["product_id"] not in _found(anonymous, q=_word(self.deleted))


def test_opensearch_blip_shorter_than_the_retries_the_stream_retries_index_every_change(
    local_stack, seller, anonymous, stocked_product, streams, search_link, caplog
):
    # GIVEN three products in search, and the stack's on-failure queues as they are
    catalog = Catalog(seller, stocked_product, streams, local_stack)
    parked = {name: queue_depth(local_stack, queue_url(local_stack, name)) for name in (INDEXER_DLQ, STOCK_SYNC_DLQ)}
    # WHEN a price changes, a product is renamed and sells out, another is deleted, and OpenSearch
    # blips as the consumers deliver them: its open connections and the next 4 new ones are
    # reset (each request is tried twice, so the first invocations fail)
    catalog.change()
    search_link.flap(4)
    streams.drain()
    # THEN the blip really failed deliveries, the mappings' retries rode over it, every change is
    # searchable, and nothing went to the on-failure queues
    assert search_link.resets == 4
    retries = [r.getMessage() for r in caplog.records if r.name == "local.streams" and ": retry " in r.getMessage()]
    assert any(message.startswith(("SearchIndexer", "SearchStockSync")) for message in retries), retries
    catalog.assert_searchable(anonymous)
    assert {name: queue_depth(local_stack, queue_url(local_stack, name)) for name in parked} == parked


def test_opensearch_down_past_the_retries_the_parked_batches_are_replayed_and_nothing_is_lost(
    local_stack, seller, anonymous, stocked_product, streams, search_link
):
    # GIVEN three products in search
    catalog = Catalog(seller, stocked_product, streams, local_stack)
    queues = {name: queue_url(local_stack, name) for name in (INDEXER_DLQ, STOCK_SYNC_DLQ)}
    parked = {name: queue_depth(local_stack, url) for name, url in queues.items()}
    # WHEN OpenSearch is down for longer than the mappings' retries, while the products change
    search_link.down()
    catalog.change()
    streams.poll()
    # THEN search answers 503 (never a stale 200), and the failed batches are parked on both
    # on-failure queues (the shards moved on) ...
    assert anonymous.get("/api/v1/search", params={"q": _word(catalog.repriced)}).status_code == 503
    assert all(queue_depth(local_stack, url) > parked[name] for name, url in queues.items())
    search_link.up()
    streams.drain()
    # ... so OpenSearch being back is not enough: search still shows the old state
    assert len(search_problems(local_stack, catalog.ids)) >= 4
    # WHEN the operator replays both queues (ops.replay_failures)
    sqs = boto3.client("sqs", endpoint_url=local_stack.moto.endpoint)
    dynamodb_streams = boto3.client("dynamodbstreams", endpoint_url=local_stack.moto.endpoint)
    reports = [replay_failures.replay(url, sqs=sqs, streams=dynamodb_streams, wait_seconds=0, log=lambda _: None) for url in queues.values()]
    # THEN every message was re-driven and deleted, none kept, and search shows every change
    assert [(report.kept, report.errors) for report in reports] == [(0, []), (0, [])]
    assert all(report.deleted >= 1 and report.records_redriven >= 1 for report in reports)
    assert {name: queue_depth(local_stack, url) for name, url in queues.items()} == dict.fromkeys(queues, 0)
    catalog.assert_searchable(anonymous)
