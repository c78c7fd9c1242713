"""The in-memory inventory store answers as the table does: one script of hold, stock and owner
operations, run through the same logic on FakeInventoryStore and on DynamoStore (moto in this
process), gives the same outcomes, counters, holds, ledger ends and owners at every step. The
fake-store tests (test_hold_logic.py, test_hold_properties.py) rest on this."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from functions.inventory import buckets, holds, orders, store
from functions.inventory.counters import read_stock, set_stock
from functions.inventory.holds import HoldChange
from functions.inventory.owners import StockOwner, owned_sku, register_skus, retire_skus
from functions.inventory.stock import set_initial_stock, stock_levels
from functions.inventory.store.table import DynamoStore
from shared.auth import Principal
from shared.errors import DomainError
from shared.tables import connection
from tests.support.fake_stores import FakeInventoryStore

A, B = "sku_A", "sku_B"
LATER = 4_000_000_000
SELLER = Principal(user_id="usr_seller", email="s@example.com", roles=frozenset({"seller"}))


@pytest.fixture
def dynamo_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoStore]:
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # A table name of its own, given to this store only (not INVENTORY_TABLE_NAME: a local stack
    # in this process keeps its own), as in tests/unit/test_idempotency_claims.py.
    name = f"inventory-{uuid.uuid4().hex[:12]}"
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")],
            GlobalSecondaryIndexes=[{"IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]}],
        )
        connection.cache_clear()
        yield type("NamedStore", (DynamoStore,), {"table": name})()
        connection.cache_clear()


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return _plain(call())
    except DomainError as error:
        return (type(error).__name__, error.details)


def _plain(value: Any) -> Any:
    """Results without what differs by design (new hold ids, the layout objects' identity)."""
    if isinstance(value, holds.Hold):
        return (value.holder_id, value.sku_id, value.quantity, value.bucket, value.expires_at)
    if isinstance(value, buckets.Layout):
        return (value.active, value.buckets)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(item) for item in value)
    return value


def _observe(table: store.InventoryStore) -> dict[str, Any]:
    layouts = table.snapshot([A, B])
    return {
        "stock": {sku: [(b.index, b.on_hand, b.reserved, b.available, b.version) for b in layout.buckets]
                  for sku, layout in layouts.items()},
        "active": {sku: layout.active for sku, layout in layouts.items()},
        "levels": stock_levels([A, B]),
        "holds": {holder: {sku: (h.quantity, h.bucket, h.expires_at) for sku, h in table.holds_of(holder, [A, B]).items()}
                  for holder in ("cart:1", "cart:2", "cart:3", "order:o1")},
        "due": sorted((h.holder_id, h.sku_id) for h in table.due_holds(2_000, 100)),
        "hot": sorted(table.hot_skus()),
    }


def _script() -> list[tuple[str, Callable[[], Any]]]:
    def hold(holder: str, sku: str, quantity: int, expires_at: int = LATER, **kwargs: Any) -> Callable[[], Any]:
        return lambda: holds.apply([HoldChange(holder, sku, quantity, expires_at, **kwargs)])

    state: dict[str, Any] = {}

    def due_release(now: int) -> Callable[[], Any]:
        def run() -> list[bool]:
            state["due"] = holds.due_holds(now=now)
            return [holds.release_if_expired(h, now=now) for h in state["due"]]
        return run

    def transfer() -> Any:
        result = holds.apply([HoldChange("cart:2", A, 0, end_kind="transfer"), HoldChange("order:o1", A, 3, LATER)])
        state["order_hold"] = result[("order:o1", A)].hold_id
        return result

    owner = StockOwner(A, "prd_1", "usr_seller")
    return [
        ("opening stock", lambda: (set_initial_stock(A, 6, "prd_1", "usr_seller"), set_initial_stock(A, 9), set_initial_stock(B, 2))),
        ("reserve", hold("cart:1", A, 3)),
        ("too many", hold("cart:2", A, 4)),
        ("the rest", hold("cart:2", A, 3)),
        ("shrink", hold("cart:1", A, 1)),
        ("a renewal of nothing", hold("cart:3", A, 2, only_if_held=True)),
        ("no stock item", hold("cart:1", "sku_none", 1)),
        ("transfer", transfer),
        ("sell", hold("order:o1", A, 0, end_kind="commit")),
        ("return once", lambda: [orders.return_order_stock("o1", [orders.OrderLine(A, 3)], {A: state["order_hold"]})
                                 for _ in range(2)]),
        ("a hold that will be due", hold("cart:3", B, 2, expires_at=1_500)),
        ("the sweeper", due_release(2_000)),
        ("the sweeper again", lambda: [holds.release_if_expired(h, now=2_000) for h in state["due"]]),
        ("the TTL path after it", lambda: [holds.release_deleted_hold(h) for h in state["due"]]),
        ("below reserved", lambda: set_stock(owner, 0, None)),
        ("restock", lambda: set_stock(owner, 12, None)),
        ("hot", lambda: set_stock(owner, None, 3)),
        ("reserve from buckets", lambda: [holds.apply([HoldChange(f"cart:{n}", A, 2, LATER)]) for n in (2, 3)]),
        ("split units", hold("cart:1", A, 5)),
        ("rebalance", lambda: buckets.rebalance_all()),
        ("fold", lambda: set_stock(owner, 20, 1)),
        ("read", lambda: read_stock(A)),
        ("owners", lambda: (register_skus("prd_1", "usr_seller", [A, B]), _outcome(lambda: register_skus("prd_2", "usr_x", [A])),
                            owned_sku(A, SELLER), retire_skus("prd_1", "usr_seller", [B]), _outcome(lambda: owned_sku(B, SELLER)))),
    ]


def _run(table: store.InventoryStore) -> list[tuple[str, Any, dict[str, Any]]]:
    random.seed(7)  # a bucket picked at random: the same pick on both stores
    steps = []
    with store.using(table):
        for name, step in _script():
            steps.append((name, _outcome(step), _observe(table)))
    return steps


def test_the_fake_store_and_the_table_agree_step_by_step(dynamo_store, monkeypatch):
    for module in (holds, buckets, orders):
        monkeypatch.setattr(module, "_pause", lambda seconds: None)
    fake = FakeInventoryStore()
    on_fake, on_table = _run(fake), _run(dynamo_store)
    for (name, fake_outcome, fake_state), (_, table_outcome, table_state) in zip(on_fake, on_table, strict=True):
        assert (name, fake_outcome) == (name, table_outcome)
        assert (name, fake_state) == (name, table_state)
    assert fake.problems() == []
