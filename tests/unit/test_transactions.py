"""shared.transactions: the one transaction executor (docs/decisions/0041-one-transaction-executor.md).

Conditions are evaluated by moto in this process (real condition semantics); DynamoDB's busy
answers (TransactionConflict, throttling), which moto does not give, come from botocore's Stubber."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from shared import transactions
from shared.errors import AlreadyExists, NotFound, OutOfStock, ServiceUnavailable
from shared.tables import connection


def _key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(transactions.time, "sleep", slept.append)
    return slept


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A moto table in this process, and the DynamoDB operations sent to it."""
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    name = f"transactions-{uuid.uuid4().hex[:12]}"  # a process with a local stack shares moto's backends
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        )
        connection.cache_clear()
        calls: list[str] = []
        connection().client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
        yield name, calls
        connection.cache_clear()
        client.delete_table(TableName=name)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The executor's client answering from a Stubber (nothing is sent)."""
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    monkeypatch.setattr(transactions, "_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _cancelled(stubber: Stubber, *codes: str | None, params: dict[str, Any] | None = None) -> None:
    stubber.add_client_error(
        "transact_write_items", service_error_code="TransactionCanceledException", service_message="cancelled",
        modeled_fields={"CancellationReasons": [{"Code": code or "None"} for code in codes]}, expected_params=params)


def _put(table: str, pk: str, **more: Any) -> transactions.Op:
    return transactions.Put(table, {**_key(pk), "n": {"N": "1"}}, condition="attribute_not_exists(pk)", **more)


# -- refused before sending ------------------------------------------------------------------------


def test_more_than_100_items_are_refused_before_sending(table) -> None:
    name, calls = table
    with pytest.raises(transactions.TransactionRequestError, match="101 items"):
        transactions.write([_put(name, f"p{i}") for i in range(101)])
    with pytest.raises(transactions.TransactionRequestError, match="101 items"):
        transactions.read([transactions.Get(name, _key(f"p{i}")) for i in range(101)])
    with pytest.raises(transactions.TransactionRequestError, match="at least one"):
        transactions.write([])
    assert calls == []
    transactions.write([_put(name, f"p{i}") for i in range(100)])  # the limit itself is fine
    assert calls == ["TransactWriteItems"]


def test_two_operations_on_one_item_are_refused_before_sending(table) -> None:
    name, calls = table
    # a Put names its item by the item's key attributes; an Update, a Delete, a check by Key
    update = transactions.Update(name, _key("p1"), "SET n = :n", values={":n": {"N": "2"}})
    with pytest.raises(transactions.TransactionRequestError, match="multiple operations on one item: items 0 and 2"):
        transactions.write([_put(name, "p1"), _put(name, "p2"), update])
    with pytest.raises(transactions.TransactionRequestError, match="multiple operations on one item"):
        transactions.write([transactions.ConditionCheck(name, _key("p1"), "attribute_exists(pk)"),
                            {"Delete": {"TableName": name, "Key": _key("p1")}}])
    with pytest.raises(transactions.TransactionRequestError, match="multiple operations on one item"):
        transactions.read([transactions.Get(name, _key("p1")), transactions.Get(name, _key("p1"))])
    assert calls == []
    # another sort key is another item
    transactions.write([_put(name, "p1"), transactions.Put(name, _key("p1", "B"))])
    assert calls == ["TransactWriteItems"]


def test_an_oversized_request_is_refused_before_sending(table) -> None:
    name, calls = table
    big = "x" * (1024 * 1024)
    items = [transactions.Put(name, {**_key(f"p{i}"), "blob": {"S": big}}) for i in range(4)]
    with pytest.raises(transactions.TransactionRequestError, match="bytes, over DynamoDB's 4194304"):
        transactions.write(items)
    with pytest.raises(transactions.TransactionRequestError, match="ClientRequestToken"):
        transactions.write([_put(name, "p1")], token="t" * 37)
    assert calls == []


# -- busy: sent again, then 503 --------------------------------------------------------------------


def test_a_conflict_is_sent_again_then_succeeds(stub, no_sleep) -> None:
    # GIVEN DynamoDB cancels the first two attempts: another transaction in flight, then throttled
    items = [_put("t", "p1"), _put("t", "p2")]
    _cancelled(stub, None, "TransactionConflict")
    stub.add_client_error("transact_write_items", service_error_code="ThrottlingException")
    stub.add_response("transact_write_items", {})
    # WHEN the executor sends it
    transactions.write(items)
    # THEN it was sent three times, after jittered, growing back-offs
    assert len(no_sleep) == 2 and all(0 <= pause <= transactions.BASE_BACKOFF_SECONDS * 4 for pause in no_sleep)


def test_a_request_that_stays_busy_is_503_after_the_attempts(stub, no_sleep) -> None:
    for _ in range(transactions.ATTEMPTS):
        _cancelled(stub, "TransactionConflict", None)
    with pytest.raises(ServiceUnavailable) as raised:
        transactions.write([_put("t", "p1"), _put("t", "p2")])
    assert raised.value.status == 503 and raised.value.code == "SERVICE_UNAVAILABLE"
    assert len(no_sleep) == transactions.ATTEMPTS - 1
    # AND a caller's attempts and message
    for _ in range(2):
        _cancelled(stub, "ThrottlingError")
    with pytest.raises(ServiceUnavailable, match="The stock is very busy"):
        transactions.write([_put("t", "p1")], attempts=2, busy_message="The stock is very busy right now; try again.")


def test_retry_busy_false_hands_the_busy_answer_to_the_caller(stub, no_sleep) -> None:
    _cancelled(stub, None, "TransactionConflict")
    with pytest.raises(ClientError) as raised:
        transactions.write([_put("t", "p1"), _put("t", "p2")], retry_busy=False)
    assert transactions.cancellation_reasons(raised.value) == ["None", "TransactionConflict"]
    assert transactions.is_busy(raised.value) and no_sleep == []


def test_a_failed_condition_is_never_retried_even_beside_a_conflict(stub, no_sleep) -> None:
    _cancelled(stub, "TransactionConflict", "ConditionalCheckFailed")
    with pytest.raises(AlreadyExists):
        transactions.write([_put("t", "p1"), _put("t", "p2", on_condition_failed=AlreadyExists("taken"))])
    assert no_sleep == []


def test_single_writes_share_the_policy(no_sleep) -> None:
    answers: list[Exception | str] = [
        ClientError({"Error": {"Code": "TransactionConflictException"}}, "UpdateItem"),
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"),
        "done",
    ]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert transactions.retry_when_busy(call) == "done" and len(no_sleep) == 2
    failed = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")
    with pytest.raises(ClientError):
        transactions.retry_when_busy(lambda: (_ for _ in ()).throw(failed))
    assert len(no_sleep) == 2


# -- failed conditions: the caller's domain errors ---------------------------------------------------


def test_a_failed_condition_raises_the_error_named_for_that_item(table) -> None:
    name, _ = table
    transactions.write([_put(name, "taken"), _put(name, "stock")])
    # an Op's own error (an instance, or a callable making one)
    with pytest.raises(AlreadyExists, match="slug"):
        transactions.write([_put(name, "new"), _put(name, "taken", on_condition_failed=lambda: AlreadyExists("slug"))])
    # by index; with several failed, the mapping's order decides
    out_of_stock = OutOfStock("Not enough stock.", {"sku_id": "s1"})
    with pytest.raises(OutOfStock) as raised:
        transactions.write([_put(name, "taken"), _put(name, "stock")],
                           on_condition_failed={1: out_of_stock, 0: lambda: AlreadyExists("taken")})
    assert raised.value is out_of_stock and raised.value.details == {"sku_id": "s1"}
    assert isinstance(raised.value.__cause__, ClientError)  # DynamoDB's answer, for the logs
    # an item that failed, but named nothing: the first named one that failed wins
    with pytest.raises(NotFound):
        transactions.write([_put(name, "taken"), _put(name, "new2"),
                            transactions.ConditionCheck(name, _key("gone"), "attribute_exists(pk)",
                                                        on_condition_failed=lambda: NotFound("gone"))])
    # for any item
    with pytest.raises(transactions.ConditionFailed):
        transactions.write([_put(name, "new3"), _put(name, "stock")], on_condition_failed=transactions.ConditionFailed)
    # nothing was written by any of them
    got = transactions.read([transactions.Get(name, _key(pk)) for pk in ("new", "new2", "new3", "taken")])
    assert got[:3] == [None, None, None] and got[3] == {**_key("taken"), "n": {"N": "1"}}


def test_an_unnamed_failed_condition_re_raises_dynamodbs_error(table) -> None:
    name, _ = table
    transactions.write([_put(name, "taken")])
    with pytest.raises(ClientError) as raised:
        transactions.write([_put(name, "taken"), _put(name, "new", on_condition_failed=AlreadyExists("not this one"))])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert transactions.cancellation_reasons(raised.value) == ["ConditionalCheckFailed", "None"]
    with pytest.raises(transactions.TransactionRequestError, match="names item 2 of 1"):
        transactions.write([_put(name, "new")], on_condition_failed={2: AlreadyExists("x")})


# -- the ClientRequestToken -------------------------------------------------------------------------


def test_the_token_is_sent_and_each_attempt_after_a_cancellation_has_its_own(stub) -> None:
    items = [_put("t", "p1")]
    # botocore resends one attempt's token on its own retries (a lost answer is applied once); a
    # cancelled attempt applied nothing, so our next attempt is a new request with a new token
    _cancelled(stub, "TransactionConflict", params={"TransactItems": ANY, "ClientRequestToken": "rev_1"})
    _cancelled(stub, "TransactionConflict", params={"TransactItems": ANY, "ClientRequestToken": "rev_1-1"})
    stub.add_response("transact_write_items", {}, {"TransactItems": [items[0].request], "ClientRequestToken": "rev_1-2"})
    transactions.write(items, token="rev_1")
    # a token at the length limit gets a derived one of the same length
    long = "x" * transactions.MAX_TOKEN_LENGTH
    assert transactions._attempt_token(long, 1) == long
    derived = {transactions._attempt_token(long, attempt) for attempt in range(2, 8)}
    assert len(derived) == 6 and {len(token) for token in derived} == {transactions.MAX_TOKEN_LENGTH}


def test_without_a_token_the_executor_passes_none(stub) -> None:
    # (botocore fills in one of its own when it builds the request: an idempotencyToken member)
    stub.add_response("transact_write_items", {}, {"TransactItems": ANY})
    transactions.write([_put("t", "p1")])


# -- reads --------------------------------------------------------------------------------------------


def test_read_returns_each_item_or_none_in_order_and_retries_a_conflict(table, monkeypatch, no_sleep) -> None:
    name, calls = table
    transactions.write([_put(name, "a"), _put(name, "c")])
    assert [item and item["pk"]["S"] for item in transactions.read(
        [transactions.Get(name, _key(pk)) for pk in ("a", "b", "c")])] == ["a", None, "c"]
    projected = transactions.read([transactions.Get(name, _key("a"), projection="#n", names={"#n": "n"})])
    assert projected[0]["n"] == {"N": "1"}  # (moto returns the key attributes too)
    # a read cancelled by a write in flight is sent again
    client = connection().client
    real = client.transact_get_items
    answers = iter([ClientError({"Error": {"Code": "TransactionCanceledException"},
                                 "CancellationReasons": [{"Code": "TransactionConflict"}]}, "TransactGetItems")])

    def flaky(**kwargs: Any) -> Any:
        for error in answers:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_get_items", flaky)
    assert transactions.read([transactions.Get(name, _key("a"))])[0]["pk"] == {"S": "a"}
    assert len(no_sleep) == 1
