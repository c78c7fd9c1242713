"""ops.search_reindex: a new versioned index built from the catalog table, the alias swapped
atomically, searches unaffected, and changes made during the copy not lost."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.search import mapping
from functions.search.client import get_client
from functions.search.handlers import search as search_handler
from ops import search_reindex
from tests.search.conftest import (
    Catalog,
    hard_delete,
    product,
    put_product,
    refresh,
    rename,
    sku,
    soft_delete,
    unique_category,
    wipe_index,
)
from tests.search.test_search import call

NOUNS = ["Kettle", "Lamp", "Chair", "Rug", "Vase"]


@pytest.fixture(autouse=True)
def _an_empty_catalog_table(catalog: Catalog, search_env: Any) -> None:
    """GIVEN a catalog table without products. The reindex copies the whole table, while each
    test's index starts empty (search_env): products that modules run earlier in this process
    left in the table would appear in the new index only, and the category facet would change
    at the swap (seen on xdist workers, where other modules ran first)."""
    for item in search_reindex.scan_products(active_only=False):  # what the reindex would copy
        hard_delete(item["product_id"])
    catalog.drain()
    wipe_index(get_client())


def stock(catalog: Catalog, category: str, count: int) -> list[dict[str, Any]]:
    """Write products to the catalog table and let the stream index them."""
    now = datetime.now(UTC)
    items = [
        product(
            f"Reindex {NOUNS[i % len(NOUNS)]} {i}",
            category_path=[category],
            skus=[sku(["red", "blue"][i % 2], ["s", "m", "l"][i % 3], 1000 + 137 * i)],
            rating=(i % 5 * 2, 2 if i % 5 else 0),
            created_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    ]
    for item in items:
        put_product(item)
    catalog.drain()
    refresh()
    return items


def queries(category: str) -> list[dict[str, list[str]]]:
    return [
        {"category": [category], "limit": ["100"]},
        {"category": [category], "q": ["kettle"]},
        {"category": [category], "sort": ["price_asc"], "limit": ["5"]},
        {"category": [category], "color": ["red"], "sort": ["rating"]},
        {"category": [category], "q": ["lamp"], "size": ["m"], "sort": ["newest"]},
    ]


def search_data(query: dict[str, list[str]]) -> dict[str, Any]:
    status, body = call(search_handler, "search", query)
    assert status == 200, body
    return body["data"]


def test_reindex_swaps_indexes_while_searches_keep_answering_the_same(catalog: Catalog, search_env: Any) -> None:
    # GIVEN 40 products indexed through the stream, and the answers to a few searches
    category = unique_category()
    stock(catalog, category, 40)
    client = get_client()
    assert mapping.indices_behind_alias(client) == ["products-v1"]
    baseline = [search_data(q) for q in queries(category)]
    assert baseline[0]["total"] == 40 and baseline[1]["total"] == 8

    # WHEN the index is rebuilt while a thread searches without pause
    answers: list[bool] = []
    diffs: list = []
    errors: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            for query, expected in zip(queries(category), baseline, strict=True):
                try:
                    got = search_data(query)
                    answers.append(got == expected)
                    if got != expected and len(diffs) < 2:
                        diffs.append((query, got, expected))
                except BaseException as exc:  # any failure at all is what this test looks for
                    errors.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        time.sleep(0.05)
        report = search_reindex.reindex(grace_seconds=0.3, log=lambda _: None)
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)

    # THEN no search failed or answered differently, before, during or after the swap
    assert errors == []
    assert len(answers) > 20 and all(answers), diffs
    assert [search_data(q) for q in queries(category)] == baseline
    # AND the alias now names the new index, and the old one is gone
    assert (report.old_indices, report.new_index, report.deleted_old) == (["products-v1"], "products-v2", ["products-v1"])
    assert mapping.indices_behind_alias(client) == ["products-v2"]
    assert mapping.versioned_indices(client) == ["products-v2"]
    assert report.copied >= 40


def test_changes_made_during_the_copy_reach_the_new_index(catalog: Catalog, search_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN four indexed products
    category = unique_category()
    renamed, soft_deleted, hard_deleted, unchanged = stock(catalog, category, 4)
    created = product("Reindex Newcomer", category_path=[category])
    copy_scan = search_reindex.scan_products
    scans = []

    def scan_then_change(**kwargs: Any) -> Any:
        scans.append(kwargs)
        first = len(scans) == 1  # the copy (the catch-up scans again after the swap)
        yield from copy_scan(**kwargs)
        if first:
            # AND while the copy runs, the catalog changes and the indexer writes to the OLD index
            rename(renamed["product_id"], "Reindex Renamed")
            soft_delete(soft_deleted["product_id"])
            hard_delete(hard_deleted["product_id"])
            put_product(created)
            catalog.drain()

    monkeypatch.setattr(search_reindex, "scan_products", scan_then_change)
    # WHEN the reindex swaps to the new index
    report = search_reindex.reindex(grace_seconds=0, log=lambda _: None)
    # THEN the new index shows the table as it is now, not as it was copied
    titles = {item["title"] for item in search_data({"category": [category]})["items"]}
    assert titles == {"Reindex Renamed", unchanged["title"], "Reindex Newcomer"}
    assert report.caught_up >= 3 and report.removed == 1


def test_the_command_prints_a_json_report(catalog: Catalog, search_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    category = unique_category()
    stock(catalog, category, 2)
    assert search_reindex.main(["--grace-seconds", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["new_index"] == "products-v2" and report["deleted_old"] == ["products-v1"]
    assert search_data({"category": [category]})["total"] == 2
