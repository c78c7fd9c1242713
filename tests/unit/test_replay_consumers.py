"""ops.replay_failures re-drives a parked stream batch through the consumer that failed it, named by
the on-failure record's function ARN (tests/faults/test_cache_outage.py and tests/search/test_replay.py
replay real queues)."""

from __future__ import annotations

import pytest

from functions.catalog.consumers import invalidate_cache
from functions.search.consumers import indexer
from ops import replay_failures

INFO = {"streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/Catalog/stream/2026-01-01T00:00:00.000"}


def _record(function_arn: str | None) -> dict:
    return {"requestContext": {"functionArn": function_arn}} if function_arn else {}


@pytest.mark.parametrize(
    ("function_arn", "consumer"),
    [
        (
            "arn:aws:lambda:us-east-1:123456789012:function:shop-dev-CatalogCacheInvalidatorF84E209B-1X2Y3Z",
            "CatalogCacheInvalidator",
        ),
        ("arn:aws:lambda:us-east-1:123456789012:function:SearchIndexerA1B2C3D4", "SearchIndexer"),
        ("arn:aws:lambda:us-east-1:123456789012:function:shop-prod-OrderSettler0F0F0F0F-AAAA", "OrderSettler"),
    ],
)
def test_the_consumer_is_the_one_the_failed_function_is_named_after(function_arn, consumer):
    # GIVEN an on-failure record naming the function that failed the batch
    # WHEN the replay looks for its consumer  THEN it is that function's StreamConsumer
    assert replay_failures.consumer_of(_record(function_arn), INFO, []) == consumer


def test_a_function_that_is_no_stream_consumer_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="pass --consumer"):
        replay_failures.consumer_of(_record("arn:aws:lambda:us-east-1:123456789012:function:SomethingElse"), INFO, [])


def test_a_record_without_a_function_falls_back_to_the_search_consumers_by_its_records():
    # GIVEN an old-style message (no requestContext) of a catalog batch
    # THEN its records go to the catalog indexer, as before consumers were named
    assert replay_failures.consumer_of({}, INFO, []) == "SearchIndexer"


def test_each_consumer_is_replayed_through_its_own_handler():
    assert replay_failures.handler_of("CatalogCacheInvalidator") is invalidate_cache.handler
    assert replay_failures.handler_of("SearchIndexer") is indexer.handler
    with pytest.raises(ValueError, match="no stream consumer"):
        replay_failures.handler_of("Nope")
