"""The availability projector against a real cache server: ordering, removal, the watermark,
and failures reported per record (functions/inventory/consumers/project_availability.py)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from functions.inventory.availability import TOMBSTONE_TTL_SECONDS, WATERMARK_KEY, decode, sku_key
from functions.inventory.consumers import project_availability as projector
from local.lambda_runtime import LambdaContext
from local.moto_server import free_port

_sequence = itertools.count(4_000_000_000_000_000_000_000)
NOW = int(time.time())


@pytest.fixture
def cache(cache_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(cache_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def cache_env(cache_server: Any) -> Iterator[None]:
    """CACHE_URL -> this module's server, for tests that run the handler itself. A local stack
    started by another suite shares this process's environment, so its workers pause meanwhile."""
    from shared import cache as shared_cache
    from tests.conftest import stacks_paused

    with stacks_paused():
        previous = os.environ.get("CACHE_URL")
        os.environ["CACHE_URL"] = cache_server.url
        shared_cache._client.cache_clear()
        yield
        if previous is None:
            os.environ.pop("CACHE_URL", None)
        else:
            os.environ["CACHE_URL"] = previous
        shared_cache._client.cache_clear()


def stock(sku: str, version: int, available: int, on_hand: int | None = None) -> dict[str, Any]:
    on_hand = available if on_hand is None else on_hand
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}, "sku_id": {"S": sku}, "on_hand": {"N": str(on_hand)},
            "reserved": {"N": str(on_hand - available)}, "available": {"N": str(available)}, "version": {"N": str(version)}}


def record(event: str, new: dict | None = None, old: dict | None = None, at: int = NOW) -> dict[str, Any]:
    image = new or old
    assert image is not None
    ddb: dict[str, Any] = {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "SequenceNumber": str(next(_sequence)),
                           "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": at}
    if new is not None:
        ddb["NewImage"] = new
    if old is not None:
        ddb["OldImage"] = old
    return {"eventID": ddb["SequenceNumber"], "eventName": event, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": ddb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Inventory/stream/2026-01-01T00:00:00.000"}


def heartbeat(at: int) -> dict[str, Any]:
    return record("MODIFY", new={"pk": {"S": "HEARTBEAT"}, "sk": {"S": "HEARTBEAT"}, "at": {"N": str(at * 1000)}}, at=at)


def history(sku: str, availables: list[int]) -> list[dict[str, Any]]:
    """The stream records of a stock item created and then changed: version i+1 has availables[i]."""
    records, previous = [], None
    for version, available in enumerate(availables, start=1):
        item = stock(sku, version, available)
        records.append(record("INSERT" if previous is None else "MODIFY", new=item, old=previous))
        previous = item
    return records


def cached(cache: redis.Redis, sku: str) -> dict[str, Any] | None:
    return decode(cache.get(sku_key(sku)))


def all_ok(outcomes: dict[str, str | None]) -> bool:
    return all(reason is None for reason in outcomes.values())


def test_newest_version_wins_whatever_the_delivery_order(cache: redis.Redis) -> None:
    # GIVEN four changes of one SKU (available 10 -> 7 -> 9 -> 4)
    records = history("sku_a", [10, 7, 9, 4])
    # WHEN they are delivered in order, then each one again, then newest first
    assert all_ok(projector.project(records, cache))
    assert all_ok(projector.project(records, cache))
    assert all_ok(projector.project(list(reversed(records)), cache))
    # THEN the cache holds the newest version's availability
    assert cached(cache, "sku_a") == {"in_stock": True, "available": 4}
    assert cache.get(sku_key("sku_a")) == "4|4"


def test_an_older_record_arriving_late_never_moves_availability_backwards(cache: redis.Redis) -> None:
    v1, v2, v3 = history("sku_b", [5, 0, 3])
    # GIVEN version 3 is projected first (v2 was held back by a retry)
    projector.project([v1, v3], cache)
    # WHEN the late version 2 (sold out) arrives, alone and in a batch with a repeat of v3
    projector.project([v2], cache)
    projector.project([v2, v3, v2], cache)
    # THEN the page still shows version 3
    assert cached(cache, "sku_b") == {"in_stock": True, "available": 3}


def test_a_record_is_projected_once_even_when_the_batch_repeats_it(cache: redis.Redis) -> None:
    v1, v2 = history("sku_c", [8, 6])
    # GIVEN a record applied once
    assert projector.apply([projector.to_change(v1)], cache) == 1
    # WHEN the same records come again THEN only the newer one changes anything
    assert projector.apply([projector.to_change(v1)], cache) == 0
    assert projector.apply([projector.to_change(v2), projector.to_change(v2)], cache) == 1
    assert cached(cache, "sku_c")["available"] == 6


def test_remove_leaves_a_tombstone_that_stale_updates_cannot_overwrite(cache: redis.Redis) -> None:
    v1, v2 = history("sku_d", [4, 2])
    removed = record("REMOVE", old=stock("sku_d", 2, 2))
    # GIVEN the item was created, changed and deleted
    assert all_ok(projector.project([v1, v2, removed], cache))
    # THEN the SKU reads as "no stock" (a known answer, not a miss), and the tombstone expires in a day
    assert cached(cache, "sku_d") == {"in_stock": False, "available": 0}
    assert 0 < cache.ttl(sku_key("sku_d")) <= TOMBSTONE_TTL_SECONDS
    # WHEN the older records are redelivered after the removal
    projector.project([v1, v2], cache)
    # THEN they do not bring the deleted item back
    assert cached(cache, "sku_d") == {"in_stock": False, "available": 0}


def test_an_item_created_again_after_its_removal_is_projected_from_version_1(cache: redis.Redis) -> None:
    old_life = history("sku_e", [4, 2, 1])
    removed = record("REMOVE", old=stock("sku_e", 3, 1))
    new_life = history("sku_e", [9, 8])  # later sequence numbers than the removal
    # GIVEN the item was deleted and created again (its version starts at 1 again)
    assert all_ok(projector.project([*old_life, removed, *new_life], cache))
    # THEN the new life shows, with no TTL left from the tombstone
    assert cached(cache, "sku_e") == {"in_stock": True, "available": 8}
    assert cache.ttl(sku_key("sku_e")) == -1
    # WHEN the whole history is redelivered in stream order (a retried batch)
    assert all_ok(projector.project([*old_life, removed, *new_life], cache))
    # THEN it converges on the new life again
    assert cached(cache, "sku_e") == {"in_stock": True, "available": 8}


def test_the_watermark_follows_stock_changes_and_heartbeats_and_never_goes_back(cache: redis.Redis) -> None:
    # GIVEN a stock change at T and a heartbeat at T+5
    change = history("sku_f", [3])[0]
    change["dynamodb"]["ApproximateCreationDateTime"] = NOW
    projector.project([change, heartbeat(NOW + 5)], cache)
    assert int(cache.get(WATERMARK_KEY)) == (NOW + 5) * 1000
    # WHEN an older heartbeat is redelivered THEN the watermark stays
    projector.project([heartbeat(NOW - 60)], cache)
    assert int(cache.get(WATERMARK_KEY)) == (NOW + 5) * 1000
    # WHEN a newer heartbeat arrives THEN it moves on
    projector.project([heartbeat(NOW + 7)], cache)
    assert int(cache.get(WATERMARK_KEY)) == (NOW + 7) * 1000
    # AND availability keys never expire by themselves (the watermark says "fresh", not a TTL)
    assert cache.ttl(sku_key("sku_f")) == -1


def test_records_of_other_items_are_ignored_and_do_not_move_the_watermark(cache: redis.Redis) -> None:
    hold = {"pk": {"S": "SKU#sku_g"}, "sk": {"S": "HOLD#cart_1"}, "quantity": {"N": "1"}}
    assert all_ok(projector.project([record("INSERT", new=hold, at=NOW + 100)], cache))
    assert cache.get(WATERMARK_KEY) is None and cache.get(sku_key("sku_g")) is None


def test_a_malformed_record_fails_with_every_later_record_and_holds_the_watermark(cache: redis.Redis) -> None:
    good = history("sku_h", [5])[0]
    broken = record("MODIFY", new={"pk": {"S": "SKU#sku_i"}, "sk": {"S": "STOCK"}, "sku_id": {"S": "sku_i"}}, at=NOW)
    later = heartbeat(NOW + 30)
    # WHEN a batch has a record that cannot be translated (no version) in the middle
    outcomes = projector.project([good, broken, later], cache)
    # THEN the records before it are projected; it and everything after it are failed
    sequences = [r["dynamodb"]["SequenceNumber"] for r in (good, broken, later)]
    assert outcomes[sequences[0]] is None
    assert "untranslatable" in outcomes[sequences[1]] and "earlier record" in outcomes[sequences[2]]
    assert cached(cache, "sku_h")["available"] == 5
    # AND the watermark does not claim the later heartbeat's time
    assert int(cache.get(WATERMARK_KEY)) == NOW * 1000


def test_cache_down_fails_every_record_and_a_retry_after_recovery_loses_nothing(cache: redis.Redis) -> None:
    records = [*history("sku_j", [6, 5]), heartbeat(NOW + 1)]
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.25, decode_responses=True)
    # WHEN the cache cannot be reached THEN every record is reported failed (Lambda retries them)
    outcomes = projector.project(records, dead)
    assert len(outcomes) == 3 and all(reason and reason.startswith("cache unavailable") for reason in outcomes.values())
    # WHEN the retry reaches the cache THEN everything is there
    assert all_ok(projector.project(records, cache))
    assert cached(cache, "sku_j")["available"] == 5 and int(cache.get(WATERMARK_KEY)) == (NOW + 1) * 1000


def test_handler_reports_failures_per_record_in_lambda_s_format(cache: redis.Redis, cache_env: None) -> None:
    from shared import cache as shared_cache

    context = LambdaContext("AvailabilityProjector", 256, 60, "req-1")
    records = history("sku_k", [2, 1])
    # GIVEN the cache is reachable THEN a batch succeeds with no failures
    assert projector.handler({"Records": records}, context) == {"batchItemFailures": []}
    assert cached(cache, "sku_k")["available"] == 1
    # GIVEN it is not THEN every record is named for retry (and the handler does not raise)
    os.environ["CACHE_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    shared_cache._client.cache_clear()
    batch = [*history("sku_l", [3]), heartbeat(NOW)]
    response = projector.handler({"Records": batch}, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch]}
    assert cache.get(sku_key("sku_l")) is None


def test_the_sample_event_projects_a_change_a_heartbeat_and_a_removal(cache: redis.Redis, cache_env: None) -> None:
    import json
    from pathlib import Path

    # GIVEN events/inventory/project_availability.json: a stock change (v4, 7 available), a
    # heartbeat 20 s later, and the item's removal
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "inventory" / "project_availability.json").read_text())
    sku = event["Records"][0]["dynamodb"]["NewImage"]["sku_id"]["S"]
    # WHEN the handler runs it
    response = projector.handler(event, LambdaContext("AvailabilityProjector", 256, 60, "req-1"))
    # THEN nothing failed, the SKU is a tombstone at version 5, and the watermark is the newest record's time
    assert response == {"batchItemFailures": []}
    assert cache.get(sku_key(sku)).startswith("5|-|") and cached(cache, sku) == {"in_stock": False, "available": 0}
    assert int(cache.get(WATERMARK_KEY)) == 1795341625 * 1000
