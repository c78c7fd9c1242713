"""functions/search/writer.py against osmem-server: what it relies on from the cluster, and how a
write survives another writer (or a reindex) acting between its read and its write."""

from __future__ import annotations

from typing import Any

import pytest

from functions.search import mapping, writer
from functions.search.client import get_client
from tests.search.conftest import Interleaving


def _error(item: dict[str, Any]) -> tuple[int, str]:
    ((_, result),) = item.items()
    return result["status"], (result.get("error") or {}).get("type", "")


def test_the_cluster_supports_what_optimistic_writes_need(search_env: Any) -> None:
    # GIVEN the products index (with its write alias) and one document in it
    client = get_client()
    index = mapping.ensure_index(client)
    alias = mapping.write_alias(index)
    created = client.bulk(body=[{"create": {"_index": alias, "_id": "p1"}}, {"title": "one"}], params={"require_alias": "true"})
    assert _error(created["items"][0])[0] == 201
    # WHEN it is read with _mget THEN the answer carries its seq_no, primary term and concrete index
    [doc, absent] = client.mget(index=mapping.ALIAS, body={"ids": ["p1", "p2"]})["docs"]
    assert doc["found"] and doc["_index"] == index and isinstance(doc["_seq_no"], int) and doc["_primary_term"] >= 1
    assert not absent["found"] and absent["_index"] == index
    # AND a conditional write on that read succeeds once; the second one, on the same (now stale)
    # read, and a create of an existing document, are 409 version conflicts
    condition = {"_index": alias, "_id": "p1", "if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]}
    answer = client.bulk(
        body=[{"index": condition}, {"title": "two"}, {"index": condition}, {"title": "three"}, {"create": {"_index": alias, "_id": "p1"}}, {}],
        params={"require_alias": "true"},
    )
    assert [_error(item) for item in answer["items"]] == [
        (200, ""),
        (409, "version_conflict_engine_exception"),
        (409, "version_conflict_engine_exception"),
    ]
    assert client.get(index=mapping.ALIAS, id="p1")["_source"] == {"title": "two"}
    # AND once the index is gone, a write to its write alias fails instead of creating a stray index
    client.indices.delete(index=index)
    gone = client.bulk(body=[{"create": {"_index": alias, "_id": "p3"}}, {}], params={"require_alias": "true"})
    assert _error(gone["items"][0]) == (404, "index_not_found_exception")
    assert mapping.versioned_indices(client) == []


def test_a_write_that_lost_the_race_merges_again_onto_the_winner(search_env: Any) -> None:
    # GIVEN a document holding a counter of merged changes
    client = get_client()
    assert writer.write(["p1"], lambda pid, doc: {"changes": ["a"]}) == {"p1": None}

    def add(change: str) -> writer.Merge:
        return lambda pid, doc: {"changes": [*(doc or {}).get("changes", []), change]}

    # WHEN a writer adds "b", and another adds "c" between its read and its write
    racing = Interleaving(client, lambda: writer.write(["p1"], add("c"), client=client))
    outcome = writer.write(["p1"], add("b"), client=racing)
    # THEN the first write was refused, the writer merged again, and both changes are kept
    assert outcome == {"p1": None} and racing.bulks == 2
    assert client.get(index=mapping.ALIAS, id="p1")["_source"] == {"changes": ["a", "c", "b"]}


def test_a_product_that_keeps_changing_under_the_writer_fails_after_the_retry_budget(search_env: Any) -> None:
    client = get_client()
    assert writer.write(["p1"], lambda pid, doc: {"n": 0}) == {"p1": None}

    def bump() -> None:
        writer.write(["p1"], lambda pid, doc: {"n": (doc or {})["n"] + 1}, client=client)

    # WHEN another writer changes the document before every one of this writer's attempts
    racing = Interleaving(client, bump, times=writer.MAX_ROUNDS)
    outcome = writer.write(["p1"], lambda pid, doc: {**(doc or {}), "mine": True}, client=racing)
    # THEN it gives up with a reason (the caller fails the record; Lambda retries it), and wrote nothing
    assert outcome["p1"] is not None and "another writer" in outcome["p1"]
    assert racing.bulks == writer.MAX_ROUNDS
    assert client.get(index=mapping.ALIAS, id="p1")["_source"] == {"n": writer.MAX_ROUNDS}


def test_a_reindex_between_read_and_write_sends_the_write_to_the_new_index(search_env: Any) -> None:
    # GIVEN a document in products-v1
    client = get_client()
    assert writer.write(["p1"], lambda pid, doc: {"v": 1}) == {"p1": None}

    def reindex() -> None:
        # a reindex: products-v2 with the document, the alias swapped, products-v1 deleted
        client.indices.create(index="products-v2", body=mapping.index_body("products-v2", with_alias=False))
        client.index(index="products-v2", id="p1", body={"v": 1, "copied": True}, refresh="true")
        client.indices.update_aliases(
            body={"actions": [{"remove": {"index": "products-v1", "alias": mapping.ALIAS}}, {"add": {"index": "products-v2", "alias": mapping.ALIAS}}]}
        )
        client.indices.delete(index="products-v1")

    # WHEN a writer read products-v1, and the reindex finishes before its write
    racing = Interleaving(client, reindex)
    outcome = writer.write(["p1"], lambda pid, doc: {**(doc or {}), "v": 2}, client=racing)
    # THEN the write to the deleted index failed, was merged again onto the new index's
    # document, and no stray products-v1 was auto-created
    assert outcome == {"p1": None} and racing.bulks == 2
    assert mapping.versioned_indices(client) == ["products-v2"]
    assert client.get(index=mapping.ALIAS, id="p1")["_source"] == {"v": 2, "copied": True}


def test_an_index_from_before_write_aliases_gets_one(search_env: Any) -> None:
    # GIVEN products-v1 behind the alias, created without a write alias (as before this existed)
    client = get_client()
    client.indices.create(index="products-v1", body={"settings": mapping.SETTINGS, "mappings": mapping.MAPPINGS, "aliases": {mapping.ALIAS: {}}})
    # WHEN a writer writes THEN the index gets its write alias and the write lands
    assert writer.write(["p1"], lambda pid, doc: {"v": 1}) == {"p1": None}
    assert client.indices.exists_alias(index="products-v1", name="products-v1-writer")
    assert client.get(index=mapping.ALIAS, id="p1")["_source"] == {"v": 1}


@pytest.mark.parametrize("unchanged", [None, "same"])
def test_nothing_newer_writes_nothing(search_env: Any, unchanged: str | None) -> None:
    client = get_client()
    assert writer.write(["p1"], lambda pid, doc: {"v": 1}) == {"p1": None}
    before = client.get(index=mapping.ALIAS, id="p1")["_seq_no"]
    # WHEN the merge says "nothing newer" (None) or returns the document as it is
    assert writer.write(["p1"], lambda pid, doc: None if unchanged is None else dict(doc or {})) == {"p1": None}
    # THEN no write happened at all
    assert client.get(index=mapping.ALIAS, id="p1")["_seq_no"] == before


def test_first_writers_racing_create_one_index_behind_the_alias(search_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    client = get_client()
    # GIVEN no products index, and two first writers that both look for the alias before either creates it
    both_looked = threading.Barrier(2, timeout=10)
    real_lookup = mapping.indices_behind_alias
    looked: set[int] = set()

    def lookup_together(c: Any) -> list[str]:
        found = real_lookup(c)
        if threading.get_ident() not in looked:
            looked.add(threading.get_ident())
            both_looked.wait()
        return found

    monkeypatch.setattr(mapping, "indices_behind_alias", lookup_together)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(mapping.ensure_index(client))) for _ in range(2)]
    # WHEN both ensure the index
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    monkeypatch.setattr(mapping, "indices_behind_alias", real_lookup)
    # THEN both got the same index, and it is the only one behind the alias
    assert len(results) == 2 and results[0] == results[1]
    assert mapping.indices_behind_alias(client) == [results[0]]
