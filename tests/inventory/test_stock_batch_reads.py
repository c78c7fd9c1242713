"""The inventory store's BatchGetItem under a hot partition (issue: a throttled read answered 500).

AWS answers a BatchGetItem whose keys it cannot read at all with ProvisionedThroughputExceededException
(the whole request), and a partly served one with UnprocessedKeys. The store sends the first again
under the one busy policy (then 503) and asks for unprocessed keys again after a back-off. Before,
the exception escaped as a 500 and unprocessed keys were asked for at once in a tight loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from functions.inventory.store import stock
from shared import transactions
from shared.errors import ServiceUnavailable

TABLE = "inventory"
KEY = {"pk": {"S": "SKU#sku_1"}, "sk": {"S": "STOCK"}}
ITEM = {**KEY, "available": {"N": "3"}}


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    monkeypatch.setattr(stock, "connection", lambda: type("Connection", (), {"client": client})())
    monkeypatch.setattr(transactions.time, "sleep", lambda _: None)
    with Stubber(client) as stubbed:
        yield stubbed
        stubbed.assert_no_pending_responses()


def _throttled(stubbed: Stubber) -> None:
    stubbed.add_client_error("batch_get_item", service_error_code="ProvisionedThroughputExceededException",
                             service_message="Throughput exceeds the current capacity of your table or index.")


def _request(keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}}


def test_a_throttled_batch_read_is_sent_again_and_answers(stubber: Stubber):
    _throttled(stubber)
    stubber.add_response("batch_get_item", {"Responses": {TABLE: [ITEM]}}, _request([KEY]))
    assert stock.batch_get(TABLE, [KEY], consistent=True) == [ITEM]


def test_a_read_that_stays_throttled_is_a_503_not_a_500(stubber: Stubber):
    for _ in range(transactions.ATTEMPTS):
        _throttled(stubber)
    with pytest.raises(ServiceUnavailable):
        stock.batch_get(TABLE, [KEY], consistent=True)


def test_unprocessed_keys_are_asked_again_after_a_back_off(stubber: Stubber, monkeypatch: pytest.MonkeyPatch):
    backed_off: list[int] = []
    monkeypatch.setattr(transactions, "back_off", backed_off.append)
    stubber.add_response("batch_get_item", {"Responses": {TABLE: []}, "UnprocessedKeys": {TABLE: {"Keys": [KEY], "ConsistentRead": True}}},
                         _request([KEY]))
    stubber.add_response("batch_get_item", {"Responses": {TABLE: [ITEM]}}, _request([KEY]))
    assert stock.batch_get(TABLE, [KEY], consistent=True) == [ITEM]
    assert backed_off == [1]
