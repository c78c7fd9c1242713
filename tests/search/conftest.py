"""Fixtures for the search service: osmem-server, an empty or populated product index, a catalog
table and an inventory table on moto whose streams feed the real indexer and stock sync through
the local stream poller, and builders for products, stock and stream records."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from functions.search import mapping, writer
from functions.search.client import get_client, reset_clients
from functions.search.consumers import indexer
from functions.search.documents import ACTIVE, StockLevel, from_item
from infra.topology import SEARCH_STOCK_RECORDS
from local.moto_server import free_port
from shared.tables import connection

SEARCH_TEST_TABLE = "SearchTestCatalog"
SEARCH_TEST_INVENTORY = "SearchTestInventory"


@pytest.fixture(scope="package", autouse=True)
def _pause_the_local_stack() -> Iterator[None]:
    """These tests point this process's SEARCH_URL (and table names) at their own server and
    tables: a local stack started by another suite must not run its functions against them
    meanwhile, so all its background loops pause: the stream and queue pollers, the TTL sweeper
    and the scheduler (its hold sweeper reads INVENTORY_TABLE_NAME, which these tests repoint;
    the suspected cause of a search mid-reindex seeing 3 of 40 products on xdist workers)."""
    from tests.conftest import stacks_paused

    with stacks_paused():
        yield


@pytest.fixture(scope="package", autouse=True)
def _cursor_secret(moto_server: Any) -> Iterator[None]:
    """The search handler signs its cursors with a key from Secrets Manager (shared/cursors.py):
    one on these tests' moto server, as the stack deploys it for the function."""
    import uuid

    client = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    secret = json.dumps({"current": uuid.uuid4().hex, "previous": ""})
    arn = client.create_secret(Name=f"SearchTestCursorSecret-{uuid.uuid4().hex[:8]}", SecretString=secret)["ARN"]
    previous = os.environ.get("CURSOR_SECRET_ARN")
    os.environ["CURSOR_SECRET_ARN"] = arn
    yield
    _restore("CURSOR_SECRET_ARN", previous)


# -- OpenSearch (osmem-server) ------------------------------------------------------------------


@pytest.fixture(scope="session")
def search_server() -> Iterator[Any]:
    from osmem_server import OsmemServer

    server = OsmemServer.start(addr=f"127.0.0.1:{free_port()}", japanese=False)
    yield server
    server.close()


def wipe_index(client: Any) -> None:
    for name in mapping.versioned_indices(client):
        client.indices.delete(index=name)
    writer.reset()  # this "execution environment" must look for the alias again


def use_search_url(url: str) -> None:
    os.environ["SEARCH_URL"] = url
    reset_clients()


@pytest.fixture
def search_env(search_server: Any, inventory: Inventory) -> Iterator[Any]:
    """SEARCH_URL -> osmem, with no products index: each test starts from nothing. The
    inventory table is there too (the indexer reads new products' stock from it)."""
    previous = os.environ.get("SEARCH_URL")
    use_search_url(search_server.url)
    wipe_index(get_client())
    yield search_server
    _restore("SEARCH_URL", previous)
    reset_clients()


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def closed_url() -> str:
    """An address nothing listens on: OpenSearch "down"."""
    return f"http://127.0.0.1:{free_port()}"


def refresh() -> None:
    get_client().indices.refresh(index=mapping.ALIAS)


def index_items(items: list[dict[str, Any]], stock: dict[str, StockLevel] | None = None) -> None:
    """Index catalog items the way the stream indexer does, and make them searchable now.

    `stock`: {sku_id: (available, version)}, what the inventory table would answer (SKUs not
    in it have no stock item)."""
    levels = stock or {}
    outcomes = indexer.apply_actions([from_item(item) for item in items], read_stock=lambda skus: {s: levels[s] for s in skus if s in levels})
    assert outcomes == [None] * len(items), outcomes
    refresh()


def indexed_ids() -> set[str]:
    """The products search can return: documents with status ACTIVE (not tombstones or stubs)."""
    if not mapping.indices_behind_alias(get_client()):
        return set()  # nothing was ever indexed
    query = {"bool": {"filter": [{"term": {"status": ACTIVE}}]}}
    response = get_client().search(index=mapping.ALIAS, body={"size": 1000, "_source": False, "query": query})
    return {hit["_id"] for hit in response["hits"]["hits"]}


def get_doc(product_id: str) -> dict[str, Any] | None:
    """The product's document, whatever its state (ACTIVE, a DELETED tombstone, a STUB)."""
    from opensearchpy.exceptions import NotFoundError

    try:
        return get_client().get(index=mapping.ALIAS, id=product_id)
    except NotFoundError:
        return None


def live_doc(product_id: str) -> dict[str, Any] | None:
    """The product's document if search can return it (ACTIVE), else None."""
    doc = get_doc(product_id)
    return doc if doc is not None and doc["_source"].get("status") == ACTIVE else None


class Interleaving:
    """The real client, except that `between()` runs right before each of the first `times`
    bulk requests: another writer acting between this writer's read and its write."""

    def __init__(self, client: Any, between: Callable[[], None], times: int = 1) -> None:
        self.client, self.between, self.times, self.bulks = client, between, times, 0

    def bulk(self, **kwargs: Any) -> Any:
        self.bulks += 1
        if self.times > 0:
            self.times -= 1
            self.between()
        return self.client.bulk(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)



# -- products and stream records ----------------------------------------------------------------

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def product(
    title: str,
    *,
    product_id: str | None = None,
    brand: str = "Acme",
    description: str = "",
    category_path: list[str] | None = None,
    skus: list[dict[str, Any]] | None = None,
    version: int = 1,
    status: str = "ACTIVE",
    rating: tuple[int, int] = (0, 0),  # (sum, count)
    created_at: datetime | None = None,
    images: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A catalog product item as plain values (what a stream image deserializes to)."""
    n = next(_ids)
    product_id = product_id or f"prd_{n:026d}"
    path = category_path or ["cat_root"]
    created = created_at or BASE_TIME + timedelta(minutes=n)
    item = {
        "pk": f"PRODUCT#{product_id}",
        "sk": "PRODUCT",
        "entity": "product",
        "product_id": product_id,
        "seller_id": "usr_seller",
        "seller_name": "Seller",
        "title": title,
        "description": description,
        "brand": brand,
        "category_id": path[-1],
        "category_path": path,
        "attributes": {},
        "images": images if images is not None else [f"https://img.example.com/{product_id}.jpg"],
        "skus": skus if skus is not None else [{"sku_id": f"sku_{n}", "options": {"color": "Blue", "size": "M"}, "price": 1999, "currency": "USD"}],
        "status": status,
        "version": version,
        "rating_sum": rating[0],
        "rating_count": rating[1],
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "updated_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "gsi1pk": f"CATEGORY#{path[-1]}",
        "gsi1sk": f"{created.isoformat()}#{product_id}",
        "gsi2pk": "SELLER#usr_seller",
        "gsi2sk": f"{created.isoformat()}#{product_id}",
    }
    item.update(extra)
    return item


def sku(color: str | None, size: str | None, price: int, currency: str = "USD") -> dict[str, Any]:
    options = {k: v for k, v in (("color", color), ("size", size)) if v is not None}
    return {"sku_id": f"sku_{next(_ids)}", "options": options, "price": price, "currency": currency}


_serializer = TypeSerializer()
_sequence = itertools.count(100_000_000_000_000_000_000)


def _image(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def stream_record(event_name: str, *, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A catalog stream record in Lambda's event shape (as local.streams delivers it)."""
    source = new or old
    assert source is not None
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795341600,
        "Keys": {"pk": {"S": source["pk"]}, "sk": {"S": source["sk"]}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        ddb["NewImage"] = _image(new)
    if old is not None:
        ddb["OldImage"] = _image(old)
    return {
        "eventID": ddb["SequenceNumber"][-8:],
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": ddb,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/SearchTestCatalog/stream/2026-01-01T00:00:00.000",
    }


def stock_item(sku_id: str, product_id: str, available: int, version: int, reserved: int = 0) -> dict[str, Any]:
    """An inventory stock item as plain values (functions/inventory/store/__init__.py)."""
    return {
        "pk": f"SKU#{sku_id}",
        "sk": "STOCK",
        "sku_id": sku_id,
        "product_id": product_id,
        "seller_id": "usr_seller",
        "on_hand": available + reserved,
        "reserved": reserved,
        "available": available,
        "version": version,
        "updated_at": 1795341600000 + version,
    }


def stock_record(event_name: str, *, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """An inventory stream record in Lambda's event shape."""
    record = stream_record(event_name, new=new, old=old)
    record["eventSourceARN"] = f"arn:aws:dynamodb:us-east-1:123456789012:table/{SEARCH_TEST_INVENTORY}/stream/2026-01-01T00:00:00.000"
    return record


def sequences(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


# -- the catalog table on moto, its stream and the indexer behind the local poller ----------------


def _stream_consumer(table_name: str, function: str, handler: str, filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A function on a table's stream: partial batch responses, no retries (the 1st failure goes
    to the on-failure queue `<function>Dlq`), as the real stack configures it but for the retries."""
    properties: dict[str, Any] = {
        "EventSourceArn": {"Fn::GetAtt": [table_name, "StreamArn"]},
        "FunctionName": {"Ref": function},
        "BatchSize": 100,
        "StartingPosition": "LATEST",  # only what this module writes
        "MaximumRetryAttempts": 0,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [f"{function}Dlq", "Arn"]}}},
    }
    if filters:
        properties["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(pattern)} for pattern in filters]}
    return {
        f"{function}Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        function: {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": handler, "Runtime": "python3.12", "Timeout": 60, "MemorySize": 512},
        },
        f"{function}Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": properties},
    }


def inventory_template(table_name: str) -> dict[str, Any]:
    """The inventory table (stream) and the search stock sync on it (stock items and buckets, as deployed)."""
    return {
        "Resources": {
            table_name: {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
            },
            **_stream_consumer(
                table_name, "SearchStockSync", "functions.search.consumers.stock_sync.handler", [SEARCH_STOCK_RECORDS]
            ),
        }
    }


def catalog_template(table_name: str) -> dict[str, Any]:
    """The slice of the real stack the indexer lives in: catalog table (stream), indexer function,
    its event source mapping (partial batch responses, no retries: the 1st failure goes to the DLQ)
    and the on-failure queue. Hand-written so these tests need no CDK synth."""
    string = "S"
    return {
        "Resources": {
            table_name: {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "AttributeDefinitions": [
                        {"AttributeName": name, "AttributeType": string} for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
                    ],
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": f"gsi{i}",
                            "KeySchema": [
                                {"AttributeName": f"gsi{i}pk", "KeyType": "HASH"},
                                {"AttributeName": f"gsi{i}sk", "KeyType": "RANGE"},
                            ],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                        for i in (1, 2)
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
            },
            **_stream_consumer(table_name, "SearchIndexer", "functions.search.consumers.indexer.handler"),
        }
    }


@dataclass
class Catalog:
    """The catalog table on moto, its stream poller (running the real indexer) and the DLQ."""

    table_name: str
    poller: Any
    queue_url: str
    sqs: Any
    streams: Any

    def drain(self) -> None:
        for _ in range(20):
            if self.poller.poll_once() == 0:
                return
        raise AssertionError("the stream poller never settled")

    def empty_dlq(self) -> None:
        """PurgeQueue allows one call a minute; receive-and-delete has no such limit."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def dlq_messages(self) -> list[dict[str, Any]]:
        """Messages on the DLQ, left there (made visible again at once)."""
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for message in messages:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return messages


@dataclass
class Inventory(Catalog):
    """The inventory table on moto, its stream poller (running the real stock sync) and its DLQ."""

    def put_stock(self, sku_id: str, product_id: str, available: int, version: int) -> dict[str, Any]:
        """Write a SKU's stock item at this version (as the inventory service's writes leave it)."""
        item = stock_item(sku_id, product_id, available, version)
        boto3.client("dynamodb").put_item(TableName=self.table_name, Item=_image(item))
        return item


@pytest.fixture(scope="module")
def inventory(moto_server: Any) -> Iterator[Inventory]:
    """INVENTORY_TABLE_NAME -> a table on moto whose stream feeds the real stock sync."""
    from local.cfn import Deployment
    from local.lambda_runtime import LambdaRuntime
    from local.resources import deploy_queues, deploy_tables
    from local.streams import StreamPoller

    previous_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    previous_table = os.environ.get("INVENTORY_TABLE_NAME")
    os.environ["AWS_ENDPOINT_URL"] = moto_server.endpoint
    os.environ["INVENTORY_TABLE_NAME"] = SEARCH_TEST_INVENTORY
    connection.cache_clear()  # the inventory module's cached client must see this endpoint
    deployment = Deployment(inventory_template(SEARCH_TEST_INVENTORY))
    deploy_tables(deployment, boto3.client("dynamodb", endpoint_url=moto_server.endpoint))
    queues = deploy_queues(deployment, boto3.client("sqs", endpoint_url=moto_server.endpoint))
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_server.endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_server.endpoint)
    poller = StreamPoller(deployment, LambdaRuntime(deployment.functions()), streams_client=streams, sqs_client=sqs)
    inventory = Inventory(SEARCH_TEST_INVENTORY, poller, queues["SearchStockSyncDlq"], sqs, streams)
    inventory.empty_dlq()
    yield inventory
    _restore("AWS_ENDPOINT_URL", previous_endpoint)
    _restore("INVENTORY_TABLE_NAME", previous_table)
    connection.cache_clear()


@pytest.fixture(scope="module")
def catalog(moto_server: Any) -> Iterator[Catalog]:
    from functions.catalog import store
    from local.cfn import Deployment
    from local.lambda_runtime import LambdaRuntime
    from local.resources import deploy_queues, deploy_tables
    from local.streams import StreamPoller

    # Other suites may have pointed the SDK and the table name elsewhere (the store reads the table
    # name from the environment when used).
    previous_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    previous_table = os.environ.get("CATALOG_TABLE_NAME")
    os.environ["AWS_ENDPOINT_URL"] = moto_server.endpoint
    os.environ["CATALOG_TABLE_NAME"] = SEARCH_TEST_TABLE
    connection.cache_clear()  # the store's cached client must see this endpoint
    table_name = store.table()
    deployment = Deployment(catalog_template(table_name))
    deploy_tables(deployment, boto3.client("dynamodb", endpoint_url=moto_server.endpoint))
    queues = deploy_queues(deployment, boto3.client("sqs", endpoint_url=moto_server.endpoint))
    runtime = LambdaRuntime(deployment.functions())
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_server.endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_server.endpoint)
    poller = StreamPoller(deployment, runtime, streams_client=streams, sqs_client=sqs)
    catalog = Catalog(table_name, poller, queues["SearchIndexerDlq"], sqs, streams)
    catalog.empty_dlq()
    yield catalog
    _restore("AWS_ENDPOINT_URL", previous_endpoint)
    _restore("CATALOG_TABLE_NAME", previous_table)
    connection.cache_clear()


def put_product(item: dict[str, Any]) -> Any:
    """Write a product as the catalog service writes it (one item, through its store's codec)."""
    from functions.catalog import store

    product = store.product_from_item(_image(item))
    connection().client.put_item(TableName=store.table(), Item=store.product_item(product))
    return product


def _change(product_id: str, name: str, value: str) -> None:
    """SET one string attribute and the update's time, +1 version (whatever the status), as a catalog write does."""
    from functions.catalog import store
    from shared.attributes import to_utc_string

    connection().client.update_item(
        TableName=store.table(), Key=store.product_key(product_id), ConditionExpression="attribute_exists(pk)",
        UpdateExpression="SET #name = :value, updated_at = :at ADD version :one", ExpressionAttributeNames={"#name": name},
        ExpressionAttributeValues={":value": {"S": value}, ":at": {"S": to_utc_string(datetime.now(UTC))}, ":one": {"N": "1"}},
    )


def soft_delete(product_id: str) -> None:
    _change(product_id, "status", "DELETED")


def rename(product_id: str, title: str) -> None:
    _change(product_id, "title", title)


def hard_delete(product_id: str) -> None:
    from functions.catalog import store

    connection().client.delete_item(TableName=store.table(), Key=store.product_key(product_id))


def unique_category() -> str:
    """A category id of the real shape, unique per call: each test searches only its own products."""
    import uuid

    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    number = uuid.uuid4().int
    return "cat_" + "".join(alphabet[(number >> (5 * i)) & 31] for i in range(26))
