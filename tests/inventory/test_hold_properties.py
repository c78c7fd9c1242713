"""Properties of the hold logic under any sequence of operations, against the in-memory store
(tests/support/fake_stores.py): stock is never negative, each bucket's `reserved` is the sum of
its live holds, the ledger reconciles, on_hand only moves by restocks and sales, and a refused
change changes nothing. The HTTP twin, slower and shallower, is test_stock_state_machine.py."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from functions.inventory import buckets, holds, orders, store
from functions.inventory.counters import set_stock
from functions.inventory.holds import HoldChange
from functions.inventory.owners import StockOwner
from shared.errors import Conflict, OutOfStock
from tests.support.fake_stores import FakeInventoryStore

SKUS = ("sku_A", "sku_B")
HOLDERS = ("cart:0", "cart:1", "cart:2", "order:o1")
TTL = 900

skus = st.sampled_from(SKUS)
holders = st.sampled_from(HOLDERS)


class HoldMachine(RuleBasedStateMachine):
    @initialize(stock=st.tuples(st.integers(0, 12), st.integers(0, 12)))
    def start(self, stock: tuple[int, int]) -> None:
        self.fake = FakeInventoryStore()
        self.using = store.using(self.fake)
        self.using.__enter__()
        self.clock = 1_000_000
        self.on_hand = dict(zip(SKUS, stock, strict=True))
        for sku, units in self.on_hand.items():
            self.fake.put_stock(sku, units)

    def teardown(self) -> None:
        if hasattr(self, "using"):
            self.using.__exit__(None, None, None)

    def _unchanged_if_refused(self, change) -> None:
        before = copy.deepcopy((self.fake.stock, self.fake.holds, len(self.fake.ledger)))
        try:
            change()
        except (OutOfStock, Conflict):
            assert (self.fake.stock, self.fake.holds, len(self.fake.ledger)) == before

    @rule(holder=holders, sku=skus, quantity=st.integers(0, 6))
    def set_hold(self, holder: str, sku: str, quantity: int) -> None:
        self._unchanged_if_refused(lambda: holds.apply([HoldChange(holder, sku, quantity, self.clock + TTL)]))

    @rule(source=holders, destination=holders, sku=skus)
    def move_hold(self, source: str, destination: str, sku: str) -> None:
        held = self.fake.holds.get((sku, source))
        if source == destination or held is None:
            return
        already = self.fake.holds.get((sku, destination))
        total = held.quantity + (already.quantity if already else 0)
        self._unchanged_if_refused(lambda: holds.apply([
            HoldChange(source, sku, 0, end_kind="transfer"), HoldChange(destination, sku, total, self.clock + TTL)]))

    @rule(holder=holders, sku=skus)
    def sell(self, holder: str, sku: str) -> None:
        held = self.fake.holds.get((sku, holder))
        holds.apply([HoldChange(holder, sku, 0, end_kind="commit")])
        if held is not None:
            self.on_hand[sku] -= held.quantity

    @rule(sku=skus, on_hand=st.integers(0, 15))
    def restock(self, sku: str, on_hand: int) -> None:
        try:
            set_stock(StockOwner(sku, "", ""), on_hand, None)
        except Conflict:
            assert on_hand < self.fake.counters(sku)["reserved"]
            return
        self.on_hand[sku] = on_hand

    @rule(sku=skus, count=st.integers(1, 4))
    def set_buckets(self, sku: str, count: int) -> None:
        set_stock(StockOwner(sku, "", ""), None, count)

    @rule()
    def rebalance(self) -> None:
        buckets.rebalance_all()

    @rule(seconds=st.integers(0, 2 * TTL))
    def time_passes_and_the_sweeper_runs(self, seconds: int) -> None:
        self.clock += seconds
        for hold in holds.due_holds(now=self.clock):
            holds.release_if_expired(hold, now=self.clock)

    @rule(data=st.data())
    def ttl_deletes_a_due_hold(self, data) -> None:
        due = [hold for hold in self.fake.holds.values() if hold.expires_at <= self.clock]
        if not due:
            return
        hold = data.draw(st.sampled_from(due))
        del self.fake.holds[(hold.sku_id, hold.holder_id)]  # DynamoDB's TTL, then its stream record
        assert holds.release_deleted_hold(hold) is True
        assert holds.release_deleted_hold(hold) is False  # redelivered

    @rule(sku=skus)
    def a_cancelled_order_returns_its_stock_once(self, sku: str) -> None:
        sold = [entry for entry in self.fake.ledger if entry.kind == "commit" and entry.holder_id == "order:o1"
                and entry.sku_id == sku and not any(e.once == f"RETURN#o1#{sku}" for e in self.fake.ledger)]
        if not sold or self.fake.holds.get((sku, "order:o1")):
            return
        quantity = -sum(entry.on_hand_delta for entry in sold)
        line, hold_ids = [orders.OrderLine(sku, quantity)], {sku: sold[-1].hold_id}
        orders.return_order_stock("o1", line, hold_ids)
        orders.return_order_stock("o1", line, hold_ids)
        self.on_hand[sku] += quantity

    @invariant()
    def stock_is_never_negative_and_reserved_is_the_live_holds(self) -> None:
        if not hasattr(self, "fake"):
            return
        assert self.fake.problems() == []
        for sku in SKUS:
            counters = self.fake.counters(sku)
            assert counters["available"] >= 0
            assert counters["reserved"] == sum(hold.quantity for hold in self.fake.holds.values() if hold.sku_id == sku)
            assert counters["on_hand"] == self.on_hand[sku]


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    for module in (holds, buckets, orders):
        monkeypatch.setattr(module, "_pause", lambda seconds: None)


HoldMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_hold_invariants = HoldMachine.TestCase
