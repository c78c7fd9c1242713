"""DynamoDB's documented capacity and transaction rules, as `metered(..., rules="aws")` models
them on the local DynamoDB (ADR 0051): one test per rule, each quoting the rule it models.
moto in this process, no stack: the limits are scaled down (W WCU/s and 3 x W RCU/s per
partition instead of 1,000 and 3,000) so that a handful of requests reaches them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.capacity import RULES_AWS, RULES_ITEM, metered

TABLE = "rules"


@pytest.fixture
def client(in_process_moto: None) -> Iterator[object]:
    # the SDK's own retries off: each test sees DynamoDB's first answer
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    try:  # moto's state may outlive mock_aws() in a session that also runs the local stack (keys are unique per test)
        dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                    {"AttributeName": "sk", "AttributeType": "S"}])
    except dynamodb.exceptions.ResourceInUseException:
        pass
    yield dynamodb


def _key(pk: str, sk: str = "A") -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _put(client, pk: str, sk: str = "A", padding: int = 0) -> None:
    item = {**_key(pk, sk), "n": {"N": "1"}}
    if padding:
        item["pad"] = {"S": "x" * padding}
    client.put_item(TableName=TABLE, Item=item)


def _bump(pk: str, sk: str = "A") -> dict:
    return {"Update": {"TableName": TABLE, "Key": _key(pk, sk), "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def _get(pk: str, sk: str = "A") -> dict:
    return {"Get": {"TableName": TABLE, "Key": _key(pk, sk)}}


def _code(call: Callable[[], object]) -> str:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return "ok"


def _cancelled(call: Callable[[], object]) -> list[str]:
    with pytest.raises(ClientError) as cancelled:
        call()
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    return [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]


def _counts(meter) -> dict[str, int]:
    """The meter's counters (metered() resets them when its block ends)."""
    return {name: getattr(meter, name) for name in ("conflicts", "throttles", "read_conflicts", "read_throttles")}


def _stop_clock(meter) -> None:
    """The meter's clock stands still: nothing refills between calls (however slow the machine)."""
    now = time.monotonic()
    meter.clock = lambda: now


def _in_flight(client, start: Callable[[], object], pk: str, sk: str = "A") -> threading.Thread:
    """Run `start` (a write) on another thread and return once its write applied: its caller
    hears back only once the write is no longer in flight, so the item is in flight meanwhile."""
    writer = threading.Thread(target=start)
    writer.start()
    deadline = time.monotonic() + 5
    while "Item" not in client.get_item(TableName=TABLE, Key=_key(pk, sk), ConsistentRead=True):
        assert time.monotonic() < deadline, "the write never applied"
        time.sleep(0.01)
    return writer


def test_partition_write_throughput_is_shared_by_the_items_of_one_partition_key(client) -> None:
    """Rule: "a single partition can support a maximum of 1,000 write capacity units per second";
    items with the same partition key value are stored in (and share) one partition; over it, an
    on-demand table answers ProvisionedThroughputExceededException (TableWriteKeyRangeThroughputExceeded)."""
    pk = f"P#{uuid.uuid4().hex}"
    # GIVEN 4 WCU/s per partition (a burst of one second: 4 single writes of 1 KB)
    with metered(4, transaction_ms=1, rules=RULES_AWS) as meter:
        _stop_clock(meter)
        # WHEN 5 different items of one partition key are written at once
        codes = [_code(lambda sk=sk: _put(client, pk, sk)) for sk in "ABCDE"]
        with pytest.raises(ClientError) as throttled:
            _put(client, pk, "F")
        # AND an item of another partition key
        other = _code(lambda: _put(client, f"P#{uuid.uuid4().hex}"))
        counted = _counts(meter)
    # THEN the partition took 4 (the items share it) and throttled the rest, as DynamoDB names it
    assert codes == ["ok"] * 4 + ["ProvisionedThroughputExceededException"], codes
    assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert [r["reason"] for r in throttled.value.response["ThrottlingReasons"]] == ["TableWriteKeyRangeThroughputExceeded"]
    # AND the other partition has capacity of its own
    assert other == "ok"
    assert counted["throttles"] == 2


def test_partition_read_throughput_strongly_consistent_1_rcu_per_4kb_eventual_half(client) -> None:
    """Rule: "a single partition can support a maximum of 3,000 read capacity units per second";
    "one read capacity unit represents one strongly consistent read per second, or two eventually
    consistent reads per second, for an item up to 4 KB in size" (larger items: more units)."""
    small, large = f"P#{uuid.uuid4().hex}", f"P#{uuid.uuid4().hex}"
    _put(client, small)
    _put(client, large, padding=5000)  # over 4 KB: 2 read units
    # GIVEN 1 WCU/s per partition, so 3 RCU/s (AWS's ratio; a burst of one second)
    with metered(1, rules=RULES_AWS) as meter:
        _stop_clock(meter)
        consistent = [_code(lambda: client.get_item(TableName=TABLE, Key=_key(small), ConsistentRead=True)) for _ in range(4)]
        eventual_pk = f"P#{uuid.uuid4().hex}"  # reads of an absent item cost the minimum too
        eventual = [_code(lambda: client.get_item(TableName=TABLE, Key=_key(eventual_pk))) for _ in range(7)]
        big = [_code(lambda: client.get_item(TableName=TABLE, Key=_key(large), ConsistentRead=True)) for _ in range(2)]
        with pytest.raises(ClientError) as throttled:
            client.get_item(TableName=TABLE, Key=_key(small), ConsistentRead=True)
        counted = _counts(meter)
    # THEN 3 strongly consistent reads, 6 eventually consistent ones, one read of a 5 KB item
    assert consistent == ["ok"] * 3 + ["ProvisionedThroughputExceededException"], consistent
    assert eventual == ["ok"] * 6 + ["ProvisionedThroughputExceededException"], eventual
    assert big == ["ok", "ProvisionedThroughputExceededException"], big
    assert [r["reason"] for r in throttled.value.response["ThrottlingReasons"]] == ["TableReadKeyRangeThroughputExceeded"]
    assert counted["read_throttles"] == 4


def test_transactional_writes_cost_double(client) -> None:
    """Rule: "transactional write requests require 2 write capacity units (WCUs) to perform one
    write per second for items up to 1 KB"; a transaction short of it is cancelled (ThrottlingError)."""
    pk = f"P#{uuid.uuid4().hex}"
    # GIVEN 4 WCU/s per partition
    with metered(4, transaction_ms=1, rules=RULES_AWS) as meter:
        _stop_clock(meter)
        # WHEN a transaction writes 2 items of one partition: 4 WCU, all of it
        client.transact_write_items(TransactItems=[_bump(pk, "A"), _bump(pk, "B")])
        # THEN a third transactional write of it is cancelled for the item, ThrottlingError
        reasons = _cancelled(lambda: client.transact_write_items(TransactItems=[_bump(pk, "C")]))
        # AND a single write too (1 WCU left: none)
        single = _code(lambda: _put(client, pk, "D"))
        counted = _counts(meter)
    assert reasons == ["ThrottlingError"]
    assert single == "ProvisionedThroughputExceededException"
    assert counted["throttles"] == 2


def test_transactional_reads_cost_double(client) -> None:
    """Rule: "transactional read requests require two read capacity units to perform one read per
    second for items up to 4 KB"; a TransactGetItems short of it is cancelled (ThrottlingError)."""
    pk = f"P#{uuid.uuid4().hex}"
    _put(client, pk)
    # GIVEN 3 RCU/s per partition
    with metered(1, rules=RULES_AWS) as meter:
        _stop_clock(meter)
        # WHEN one item is read transactionally (2 RCU), then again (1 RCU left)
        first = client.transact_get_items(TransactItems=[_get(pk)])
        reasons = _cancelled(lambda: client.transact_get_items(TransactItems=[_get(pk)]))
        # AND once strongly consistently (1 RCU)
        single = _code(lambda: client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True))
        counted = _counts(meter)
    # THEN the first read got the item, the second was cancelled, the plain read took what was left
    assert first["Responses"][0]["Item"]["n"] == {"N": "1"}
    assert reasons == ["ThrottlingError"]
    assert single == "ok"
    assert counted["read_throttles"] == 1


def test_a_single_write_against_an_item_in_an_ongoing_transaction_gets_transaction_conflict(client) -> None:
    """Rule: "a PutItem, UpdateItem, or DeleteItem request for an item conflicts with an ongoing
    TransactWriteItems request that includes the same item" (TransactionConflictException)."""
    pk = f"P#{uuid.uuid4().hex}"
    # GIVEN a transaction in flight on an item for 0.6 s (capacity to spare)
    with metered(1000, transaction_ms=600, rules=RULES_AWS) as meter:
        writer = _in_flight(client, lambda: client.transact_write_items(TransactItems=[_bump(pk)]), pk)
        # WHEN a single write hits the item, and another item of its partition
        conflict = _code(lambda: client.update_item(TableName=TABLE, Key=_key(pk), UpdateExpression="ADD n :one",
                                                     ExpressionAttributeValues={":one": {"N": "1"}}))
        neighbour = _code(lambda: _put(client, pk, "B"))
        writer.join(5)
        counted = _counts(meter)
    # THEN the write against the item conflicts, its neighbour does not (conflicts are per item)
    assert conflict == "TransactionConflictException"
    assert neighbour == "ok"
    assert counted["conflicts"] == 1


def test_an_item_in_two_ongoing_transactions_cancels_the_second_with_transaction_conflict(client) -> None:
    """Rule: "an item within a TransactWriteItems request is part of another ongoing
    TransactWriteItems request" (TransactionCanceledException, reason TransactionConflict)."""
    pk, other = f"P#{uuid.uuid4().hex}", f"P#{uuid.uuid4().hex}"
    with metered(1000, transaction_ms=600, rules=RULES_AWS) as meter:
        # GIVEN a transaction in flight on an item
        writer = _in_flight(client, lambda: client.transact_write_items(TransactItems=[_bump(pk)]), pk)
        # WHEN a second transaction touches another item and that one
        reasons = _cancelled(lambda: client.transact_write_items(TransactItems=[_bump(other), _bump(pk)]))
        writer.join(5)
        # AND once the first is no longer in flight
        client.transact_write_items(TransactItems=[_bump(other), _bump(pk)])
        counted = _counts(meter)
    # THEN it was cancelled with TransactionConflict for that item only, and then it committed
    assert reasons == ["None", "TransactionConflict"]
    assert client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True)["Item"]["n"] == {"N": "2"}
    assert counted["conflicts"] == 1


@pytest.mark.parametrize("write", ["TransactWriteItems", "PutItem"])
def test_a_transact_get_items_item_with_a_write_in_flight_is_cancelled_with_transaction_conflict(client, write) -> None:
    """Rule: "an item within a TransactGetItems request is part of an ongoing TransactWriteItems,
    BatchWriteItem, PutItem, UpdateItem, or DeleteItem request" (reason TransactionConflict)."""
    pk, other = f"P#{uuid.uuid4().hex}", f"P#{uuid.uuid4().hex}"
    _put(client, other)
    with metered(1000, transaction_ms=1200, rules=RULES_AWS) as meter:
        # GIVEN a write in flight on an item (a transaction's, or a single PutItem's)
        if write == "PutItem":
            writer = _in_flight(client, lambda: _put(client, pk), pk)
        else:
            writer = _in_flight(client, lambda: client.transact_write_items(TransactItems=[_bump(pk)]), pk)
        # WHEN a TransactGetItems reads another item and that one
        reasons = _cancelled(lambda: client.transact_get_items(TransactItems=[_get(other), _get(pk)]))
        # AND a plain strongly consistent read of it (not a transaction: no conflict)
        plain = client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True)
        writer.join(5)
        # AND once the write is no longer in flight
        after = client.transact_get_items(TransactItems=[_get(other), _get(pk)])
        counted = _counts(meter)
    # THEN it was cancelled for that item only; the plain read and the later one got the item
    assert reasons == ["None", "TransactionConflict"]
    assert "Item" in plain and "Item" in after["Responses"][1]
    assert counted["read_conflicts"] == 1


def test_transactions_take_up_to_100_items(client) -> None:
    """Rule: "TransactWriteItems is a synchronous write operation that groups up to 100 action
    requests"; TransactGetItems likewise "up to 100 Get actions" (moto 5.2.5 stops reads at 25)."""
    pk = f"P#{uuid.uuid4().hex}"
    sks = [f"{index:03d}" for index in range(101)]
    client.transact_write_items(TransactItems=[_bump(pk, sk) for sk in sks[:100]])
    read = client.transact_get_items(TransactItems=[_get(pk, sk) for sk in sks[:100]])
    assert [r["Item"]["n"] for r in read["Responses"]] == [{"N": "1"}] * 100
    assert _code(lambda: client.transact_write_items(TransactItems=[_bump(pk, sk) for sk in sks])) == "ValidationException"
    assert _code(lambda: client.transact_get_items(TransactItems=[_get(pk, sk) for sk in sks])) == "ValidationException"


def test_metered_keeps_adr_0023_per_item_rules_unless_asked(client) -> None:
    """Not an AWS rule: `metered(w)` without `rules` is ADR 0023's per-item model (w WCU/s per
    item, reads free, no partitions), which the existing metered tests and the benchmark's old
    side use; the "aws" rules are on only where a test or the benchmark asks."""
    pk = f"P#{uuid.uuid4().hex}"
    with metered(2, transaction_ms=1) as meter:
        _stop_clock(meter)
        assert meter.rules == RULES_ITEM
        # two items of one partition key: each has 2 WCU of its own
        codes = [_code(lambda sk=sk: _put(client, pk, sk)) for sk in ("A", "A", "B", "B")]
        reads = [_code(lambda: client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True)) for _ in range(20)]
    assert codes == ["ok"] * 4
    assert reads == ["ok"] * 20


def test_a_transaction_bigger_than_a_scaled_down_partition_runs_on_a_full_one(client) -> None:
    """Not an AWS rule, the scaled-down model's: at 4 WCU/s a partition holds 4 WCU, less than a
    transaction of 3 of its items (6 WCU) that DynamoDB's 1,000 WCU/s take at once; such a
    transaction runs when the partition is full and leaves it in debt (else it could never run)."""
    pk = f"P#{uuid.uuid4().hex}"
    with metered(4, transaction_ms=1, rules=RULES_AWS) as meter:
        _stop_clock(meter)
        client.transact_write_items(TransactItems=[_bump(pk, "A"), _bump(pk, "B"), _bump(pk, "C")])
        after = _code(lambda: _put(client, pk, "D"))
    assert after == "ProvisionedThroughputExceededException"
