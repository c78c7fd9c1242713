"""The local stack's eventually consistent GSIs (ADR 0032): off by default; with a lag on, a
GSI Query/Scan answers from the table as it was `lag` seconds ago (as DynamoDB's indexes may),
while base-table reads stay exact unless eventual reads are on too (then those without
ConsistentRead lag as well); ConsistentRead on a GSI is refused as on AWS."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from local.gsi_lag import lag_seconds, lagged


@pytest.fixture
def orders_table(local_stack) -> tuple:
    return boto3.client("dynamodb", endpoint_url=local_stack.moto.endpoint), local_stack.physical_name("OrdersTable")


def _item(partition: str, version: str) -> dict:
    return {"pk": {"S": f"LAG#{partition}"}, "sk": {"S": "LAG"}, "gsi1pk": {"S": f"LAGTEST#{partition}"},
            "gsi1sk": {"S": "1"}, "version": {"S": version}}


def _index(client, table: str, partition: str) -> list[str]:
    response = client.query(TableName=table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                            ExpressionAttributeValues={":p": {"S": f"LAGTEST#{partition}"}})
    return [item["version"]["S"] for item in response["Items"]]


def _table_read(client, table: str, partition: str, consistent: bool = True) -> str | None:
    item = client.get_item(TableName=table, Key={"pk": {"S": f"LAG#{partition}"}, "sk": {"S": "LAG"}},
                           ConsistentRead=consistent).get("Item")
    return item["version"]["S"] if item else None


def test_off_by_default_a_gsi_query_sees_a_write_at_once(orders_table):
    client, table = orders_table
    partition = uuid.uuid4().hex
    # GIVEN the stack as it starts (no lag)
    assert lag_seconds() == 0
    # WHEN an item is written THEN the index lists it at once
    client.put_item(TableName=table, Item=_item(partition, "v1"))
    assert _index(client, table, partition) == ["v1"]


def test_with_a_lag_the_index_misses_new_items_shows_old_values_and_converges(orders_table):
    client, table = orders_table
    partition = uuid.uuid4().hex
    with lagged(0.6):
        # WHEN an item is put
        client.put_item(TableName=table, Item=_item(partition, "v1"))
        # THEN the index does not list it yet, while the table has it (consistent or not)
        assert _index(client, table, partition) == []
        assert _table_read(client, table, partition) == "v1"
        assert _table_read(client, table, partition, consistent=False) == "v1"
        # AND once the lag has passed, the index lists it
        time.sleep(0.7)
        assert _index(client, table, partition) == ["v1"]
        # WHEN it is updated, then deleted
        client.update_item(TableName=table, Key={"pk": {"S": f"LAG#{partition}"}, "sk": {"S": "LAG"}},
                           UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": {"S": "v2"}})
        # THEN the index shows the old value for the lag, the table the new one
        assert _index(client, table, partition) == ["v1"]
        assert _table_read(client, table, partition) == "v2"
        client.delete_item(TableName=table, Key={"pk": {"S": f"LAG#{partition}"}, "sk": {"S": "LAG"}})
        assert _index(client, table, partition) == ["v1"]
        assert _table_read(client, table, partition) is None
        # AND after the lag the index has caught up with the deletion
        time.sleep(0.7)
        assert _index(client, table, partition) == []
        # AND a Scan of the index lags too
        client.put_item(TableName=table, Item=_item(partition, "v3"))
        scanned = client.scan(TableName=table, IndexName="gsi1", FilterExpression="gsi1pk = :p",
                              ExpressionAttributeValues={":p": {"S": f"LAGTEST#{partition}"}})["Items"]
        assert scanned == []
    # AND with the lag off again the index is exact
    assert _index(client, table, partition) == ["v3"]


def test_transactions_lag_in_the_index_too(orders_table):
    client, table = orders_table
    partition = uuid.uuid4().hex
    with lagged(5):
        client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": _item(partition, "v1")}}])
        assert _index(client, table, partition) == []
        assert _table_read(client, table, partition) == "v1"


def test_consistent_read_on_a_gsi_is_a_validation_exception(orders_table):
    client, table = orders_table
    # WHEN a GSI is queried with ConsistentRead (which DynamoDB does not support)
    with pytest.raises(ClientError) as refused:
        client.query(TableName=table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                     ExpressionAttributeValues={":p": {"S": "LAGTEST#x"}}, ConsistentRead=True)
    # THEN it is refused as on AWS
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_with_eventual_reads_only_reads_without_consistent_read_lag_on_the_base_table(orders_table):
    client, table = orders_table
    partition = uuid.uuid4().hex
    key = {"pk": {"S": f"LAG#{partition}"}, "sk": {"S": "LAG"}}

    def batch(consistent: bool) -> list[str]:
        found = client.batch_get_item(RequestItems={table: {"Keys": [key], "ConsistentRead": consistent}})["Responses"][table]
        return [item["version"]["S"] for item in found]

    def partition_query(consistent: bool) -> list[str]:
        found = client.query(TableName=table, KeyConditionExpression="pk = :p", ConsistentRead=consistent,
                             ExpressionAttributeValues={":p": {"S": f"LAG#{partition}"}})["Items"]
        return [item["version"]["S"] for item in found]

    with lagged(2.0, eventual_reads=True):  # several reads (a Scan of a grown table among them) must fit inside it
        # WHEN an item is put, then updated within the lag
        client.put_item(TableName=table, Item=_item(partition, "v1"))
        # THEN reads without ConsistentRead do not see it yet: GetItem, BatchGetItem, Query, Scan
        assert _table_read(client, table, partition, consistent=False) is None
        assert batch(consistent=False) == [] and partition_query(consistent=False) == []
        scanned = client.scan(TableName=table, FilterExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]})["Items"]
        assert scanned == []
        # AND consistent reads (and TransactGetItems, always consistent) see it at once
        assert _table_read(client, table, partition) == "v1"
        assert batch(consistent=True) == ["v1"] and partition_query(consistent=True) == ["v1"]
        got = client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}}])["Responses"]
        assert got[0]["Item"]["version"]["S"] == "v1"
        # AND once the lag has passed, the eventual reads see it; an update then shows its old value for the lag
        time.sleep(2.1)
        assert _table_read(client, table, partition, consistent=False) == "v1"
        client.update_item(TableName=table, Key=key, UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": {"S": "v2"}})
        assert _table_read(client, table, partition, consistent=False) == "v1"
        assert _table_read(client, table, partition) == "v2"
    # AND with the switch off again every read is exact
    assert _table_read(client, table, partition, consistent=False) == "v2"
    # AND a lag without eventual_reads leaves base-table reads exact (the GSI switch alone)
    with lagged(0.6):
        client.update_item(TableName=table, Key=key, UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": {"S": "v3"}})
        assert _table_read(client, table, partition, consistent=False) == "v3"
