"""The inventory's hold logic against an in-memory store with DynamoDB's conditional semantics
(tests/support/fake_stores.py): reserve, move by the difference, release, expiry, orders, hot-SKU
buckets, and never overselling. No moto, no stack: milliseconds (make test-unit).

The same behaviour over HTTP, on the local stack, is in the other tests of tests/inventory."""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from functions.inventory import buckets, holds, orders, store
from functions.inventory.counters import read_stock, set_stock
from functions.inventory.holds import ConcurrentChange, HoldChange
from functions.inventory.owners import StockOwner, owned_sku, register_skus, retire_skus
from functions.inventory.stock import set_initial_stock, stock_levels
from shared.auth import Principal
from shared.errors import Conflict, NotFound, OutOfStock
from tests.support.fake_stores import FakeInventoryStore, FakeWrite

SKU = "sku_A"
LATER = int(time.time()) + 900


@pytest.fixture
def fake(monkeypatch) -> FakeInventoryStore:
    for module in (holds, buckets, orders):  # retries without back-off
        monkeypatch.setattr(module, "_pause", lambda seconds: None)
    inventory = FakeInventoryStore()
    with store.using(inventory):
        yield inventory
    assert inventory.problems() == []


def _at_once(call, arguments) -> list:
    """`call` for each argument from 16 threads at once, each in a copy of this context (its store)."""
    calls = [(contextvars.copy_context(), argument) for argument in arguments]
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda pair: pair[0].run(call, pair[1]), calls))


def _hold(holder: str, quantity: int, sku: str = SKU, **kwargs) -> holds.Hold | None:
    return holds.apply([HoldChange(holder, sku, quantity, kwargs.pop("expires_at", LATER), **kwargs)])[(holder, sku)]


# -- reserve, move by the difference, release ---------------------------------------------------


def test_a_reservation_takes_available_stock_with_its_hold_and_ledger_entry(fake):
    fake.put_stock(SKU, 10)
    hold = _hold("cart:a", 3)
    assert hold is not None and hold.quantity == 3 and hold.expires_at == LATER
    assert fake.counters(SKU) == {"on_hand": 10, "reserved": 3, "available": 7}
    assert [(entry.kind, entry.reserved_delta) for entry in fake.ledger[1:]] == [("reserve", 3)]


def test_a_hold_moves_by_the_difference_and_keeps_its_id(fake):
    fake.put_stock(SKU, 10)
    first = _hold("cart:a", 3)
    grown = _hold("cart:a", 5)
    shrunk = _hold("cart:a", 2)
    assert first and grown and shrunk and first.hold_id == grown.hold_id == shrunk.hold_id
    assert fake.counters(SKU)["reserved"] == 2
    assert [entry.reserved_delta for entry in fake.ledger[1:]] == [3, 2, -3]


def test_a_release_ends_the_hold_once(fake):
    fake.put_stock(SKU, 10)
    hold = _hold("cart:a", 4)
    assert _hold("cart:a", 0) is None
    assert fake.counters(SKU) == {"on_hand": 10, "reserved": 0, "available": 10}
    assert fake.end_kind(SKU, hold.hold_id) == "release"
    # a second release finds no hold: nothing to write
    before = fake.transactions
    assert _hold("cart:a", 0) is None and fake.transactions == before


def test_the_last_units_go_to_one_shopper_and_the_other_learns_what_is_left(fake):
    fake.put_stock(SKU, 5)
    _hold("cart:a", 3)
    with pytest.raises(OutOfStock) as refused:
        holds.apply([HoldChange("cart:b", SKU, 3, LATER)])
    assert refused.value.details == {"sku_id": SKU, "requested": 3, "available": 2}
    assert fake.counters(SKU) == {"on_hand": 5, "reserved": 3, "available": 2} and ("cart:b", SKU) not in [
        (hold.holder_id, hold.sku_id) for hold in fake.holds.values()]


def test_out_of_stock_answers_in_the_requests_own_terms(fake):
    # a line of 3 asks for 2 more (target 5) with 1 free: it could have added 1
    fake.put_stock(SKU, 4)
    _hold("cart:a", 3)
    with pytest.raises(OutOfStock) as refused:
        holds.apply([HoldChange("cart:a", SKU, 5, LATER, requested=2)])
    assert refused.value.details == {"sku_id": SKU, "requested": 2, "available": 1}


def test_a_sku_without_stock_is_out_of_stock(fake):
    with pytest.raises(OutOfStock):
        _hold("cart:a", 1, sku="sku_never_stocked")


def test_moving_a_hold_between_holders_moves_no_counters(fake):
    fake.put_stock(SKU, 10)
    guest = _hold("cart:guest", 3)
    version = fake.stock[(SKU, 0)].version
    result = holds.apply([HoldChange("cart:guest", SKU, 0, end_kind="transfer"), HoldChange("cart:user", SKU, 3, LATER)])
    assert result[("cart:guest", SKU)] is None and result[("cart:user", SKU)].quantity == 3
    assert fake.stock[(SKU, 0)].version == version and fake.counters(SKU)["reserved"] == 3
    assert fake.end_kind(SKU, guest.hold_id) == "transfer"


def test_a_renewal_never_reserves_a_lapsed_hold_again(fake):
    fake.put_stock(SKU, 10)
    result = holds.apply([HoldChange("cart:a", SKU, 2, LATER, only_if_held=True)])
    assert result == {("cart:a", SKU): None} and fake.counters(SKU)["reserved"] == 0


def test_the_callers_failed_condition_changes_nothing(fake):
    fake.put_stock(SKU, 10)
    refused = FakeWrite(("cart", "c1", "CART"), lambda: False, lambda: None)
    with pytest.raises(ConcurrentChange):
        holds.apply([HoldChange("cart:a", SKU, 2, LATER)], also=[refused])
    assert fake.counters(SKU)["reserved"] == 0 and not fake.holds


def test_a_conflict_or_throttling_is_retried_with_the_same_outcome(fake):
    fake.put_stock(SKU, 10)
    fake.fail_next(None, times=2)  # TransactionConflict twice
    fake.fail_next([])  # then throttled
    assert _hold("cart:a", 2).quantity == 2
    assert fake.cancelled == 2 and fake.counters(SKU)["reserved"] == 2


def test_a_hold_changed_meanwhile_is_read_again(fake, monkeypatch):
    # GIVEN another request changes the hold between this one's read and its write
    fake.put_stock(SKU, 10)
    _hold("cart:a", 1)
    real = fake.holds_of
    raced = []

    def read_then_race(holder_id, sku_ids):
        found = real(holder_id, sku_ids)
        if not raced:
            raced.append(True)
            hold = fake.holds[(SKU, "cart:a")]
            fake.holds[(SKU, "cart:a")] = replace(hold, quantity=2)
            fake.stock[(SKU, 0)].reserved += 1
            fake.ledger.append(fake.ledger[-1].__class__(SKU, "reserve", 0, 1, 0, "cart:a", hold.hold_id, ""))
        return found

    monkeypatch.setattr(fake, "holds_of", read_then_race)
    # WHEN it sets the hold to 4 THEN its first write is refused (the hold is not the one read), and the re-read wins
    assert _hold("cart:a", 4).quantity == 4
    assert fake.cancelled == 1 and fake.counters(SKU)["reserved"] == 4


def test_many_shoppers_at_once_never_oversell(fake):
    fake.put_stock(SKU, 20)

    def shop(index: int) -> bool:
        try:
            _hold(f"cart:{index}", 1)
            return True
        except OutOfStock:
            return False

    won = _at_once(shop, range(64))
    assert sum(won) == 20 and fake.counters(SKU) == {"on_hand": 20, "reserved": 20, "available": 0}


# -- expiry ---------------------------------------------------------------------------------------


def test_the_sweeper_releases_a_due_hold_once(fake):
    fake.put_stock(SKU, 10)
    hold = _hold("cart:a", 3, expires_at=1_000)
    assert holds.due_holds(now=999) == [] and holds.release_if_expired(hold, now=999) is False
    assert holds.due_holds(now=1_000) == [hold]
    assert holds.release_if_expired(hold, now=1_000) is True
    assert holds.release_if_expired(hold, now=1_000) is False  # another sweep, or the TTL path, came second
    assert holds.release_deleted_hold(hold) is False
    assert fake.counters(SKU)["reserved"] == 0 and fake.end_kind(SKU, hold.hold_id) == "expire"


def test_the_ttl_backstop_returns_a_deleted_holds_stock_once(fake):
    fake.put_stock(SKU, 10)
    hold = _hold("cart:a", 3, expires_at=1_000)
    del fake.holds[(SKU, "cart:a")]  # DynamoDB's TTL deleted it
    assert holds.release_deleted_hold(hold) is True
    assert holds.release_deleted_hold(hold) is False  # a redelivered stream record
    assert holds.release_if_expired(hold, now=2_000) is False
    assert fake.counters(SKU)["reserved"] == 0


def test_a_renewed_hold_is_not_released_by_a_stale_listing(fake):
    fake.put_stock(SKU, 10)
    stale = _hold("cart:a", 1, expires_at=1_000)
    _hold("cart:a", 2, expires_at=LATER)  # renewed (and grown) after the index listed it due
    assert holds.release_if_expired(stale, now=1_001) is False
    assert fake.counters(SKU)["reserved"] == 2


# -- orders -----------------------------------------------------------------------------------


def _confirmed(ok: bool = True) -> FakeWrite:
    return FakeWrite(("orders", "ORDER#o1"), lambda: ok, lambda: None)


def test_an_order_takes_the_carts_holds_sells_them_and_returns_them_once(fake):
    fake.put_stock(SKU, 10)
    _hold("cart:a", 3)
    lines = [orders.OrderLine(SKU, 3)]
    hold_ids = orders.hold_for_order("cart:a", "o1", lines, LATER)
    assert set(hold_ids) == {SKU} and fake.counters(SKU) == {"on_hand": 10, "reserved": 3, "available": 7}
    assert orders.hold_for_order("cart:a", "o1", lines, LATER) == hold_ids  # a retried step
    with pytest.raises(ConcurrentChange):
        orders.commit_order("o1", lines, hold_ids, _confirmed(False))  # the order was cancelled meanwhile
    orders.commit_order("o1", lines, hold_ids, _confirmed())
    orders.commit_order("o1", lines, hold_ids, _confirmed())  # already committed: done
    assert fake.counters(SKU) == {"on_hand": 7, "reserved": 0, "available": 7}
    orders.return_order_stock("o1", lines, hold_ids)
    orders.return_order_stock("o1", lines, hold_ids)  # the saga and the settler both settle it
    assert fake.counters(SKU) == {"on_hand": 10, "reserved": 0, "available": 10}


def test_an_order_whose_hold_lapsed_reserves_again_or_is_out_of_stock(fake):
    fake.put_stock(SKU, 2)
    with pytest.raises(OutOfStock):
        orders.hold_for_order("cart:a", "o1", [orders.OrderLine(SKU, 3)], LATER)
    assert orders.hold_for_order("cart:a", "o1", [orders.OrderLine(SKU, 2)], LATER)
    assert fake.counters(SKU)["reserved"] == 2


def test_a_hold_that_expired_before_the_commit_is_stock_lost(fake):
    fake.put_stock(SKU, 5)
    lines = [orders.OrderLine(SKU, 1)]
    hold_ids = orders.hold_for_order("cart:a", "o1", lines, 1_000)
    [hold] = fake.holds.values()
    assert holds.release_if_expired(hold, now=1_000)
    with pytest.raises(orders.StockLost):
        orders.commit_order("o1", lines, hold_ids, _confirmed())


# -- seller's counters, owners ------------------------------------------------------------------


def test_on_hand_is_set_absolutely_never_below_what_is_reserved(fake):
    owner = StockOwner(SKU, "prd_1", "usr_seller")
    assert set_stock(owner, 5, None)["on_hand"] == 5  # the first write creates the stock item, named
    assert fake.stock[(SKU, 0)].seller_id == "usr_seller"
    _hold("cart:a", 4)
    with pytest.raises(Conflict):
        set_stock(owner, 3, None)
    assert set_stock(owner, 9, None) == {"sku_id": SKU, "on_hand": 9, "reserved": 4, "available": 5, "buckets": 1}
    assert [entry.kind for entry in fake.ledger if entry.on_hand_delta] == ["restock", "restock"]


def test_opening_stock_is_set_once(fake):
    assert set_initial_stock(SKU, 3, "prd_1", "usr_1") is True
    assert set_initial_stock(SKU, 5) is False
    assert stock_levels([SKU, "sku_none"]) == {SKU: (3, 1)}


SELLER = Principal(user_id="usr_seller", email="s@example.com", roles=frozenset({"seller"}))
OTHER = Principal(user_id="usr_other", email="o@example.com", roles=frozenset({"seller"}))
ADMIN = Principal(user_id="usr_admin", email="a@example.com", roles=frozenset({"admin"}))


def test_a_skus_owner_is_its_record_else_its_stock_item(fake):
    register_skus("prd_1", "usr_seller", ["sku_1", "sku_2"])
    assert owned_sku("sku_1", SELLER) == StockOwner("sku_1", "prd_1", "usr_seller")
    assert owned_sku("sku_1", ADMIN).seller_id == "usr_seller"
    with pytest.raises(NotFound):
        owned_sku("sku_1", OTHER)
    with pytest.raises(Conflict):
        register_skus("prd_2", "usr_other", ["sku_1"])  # ids are the catalog's: never another's
    # a stock item from before owner records: its seller, if it names one; else admins only
    set_initial_stock("sku_old", 1, "prd_0", "usr_seller")
    set_initial_stock("sku_unnamed", 1)
    assert owned_sku("sku_old", SELLER).product_id == "prd_0"
    with pytest.raises(NotFound):
        owned_sku("sku_unnamed", SELLER)
    assert owned_sku("sku_unnamed", ADMIN).seller_id == ""
    # unknown, and retired with the product: missing for everyone
    retire_skus("prd_1", "usr_seller", ["sku_1", "sku_old"])
    for sku in ("sku_1", "sku_old", "sku_never"):
        for principal in (SELLER, ADMIN):
            with pytest.raises(NotFound):
                owned_sku(sku, principal)


# -- hot SKUs (ADR 0022) ------------------------------------------------------------------------


def test_buckets_spread_the_stock_and_holds_return_to_their_own_bucket(fake):
    fake.put_stock(SKU, 16)
    owner = StockOwner(SKU, "", "")
    assert set_stock(owner, None, 4)["buckets"] == 4
    assert sorted(bucket.available for bucket in buckets.snapshot([SKU])[SKU].buckets) == [4, 4, 4, 4]
    taken = [_hold(f"cart:{index}", 2) for index in range(6)]
    assert fake.counters(SKU) == {"on_hand": 16, "reserved": 12, "available": 4}
    for index, hold in enumerate(taken):
        _hold(f"cart:{index}", 0)
        assert fake.stock[(SKU, hold.bucket)].reserved == sum(
            other.quantity for other in fake.holds.values() if other.bucket == hold.bucket)
    assert read_stock(SKU) == {"sku_id": SKU, "on_hand": 16, "reserved": 0, "available": 16, "buckets": 4}


def test_units_split_over_buckets_are_consolidated_never_stranded(fake):
    # GIVEN 4 buckets of 1 unit each  WHEN a shopper asks for all 4  THEN they get them
    fake.put_stock(SKU, 4)
    set_stock(StockOwner(SKU, "", ""), None, 4)
    assert _hold("cart:a", 4).quantity == 4
    assert fake.counters(SKU) == {"on_hand": 4, "reserved": 4, "available": 0}
    with pytest.raises(OutOfStock):
        _hold("cart:b", 1)


def test_a_hot_sku_never_oversells_under_concurrent_shoppers(fake):
    fake.put_stock(SKU, 20)
    set_stock(StockOwner(SKU, "", ""), None, 5)

    def shop(index: int) -> bool:
        try:
            _hold(f"cart:{index}", 1)
            return True
        except OutOfStock:
            return False

    won = _at_once(shop, range(64))
    assert sum(won) == 20 and fake.counters(SKU)["available"] == 0


def test_the_rebalancer_evens_out_buckets_and_collapses_near_sell_out(fake, monkeypatch):
    fake.put_stock(SKU, 40)
    set_stock(StockOwner(SKU, "", ""), None, 4)
    for index in range(8):
        _hold(f"cart:{index}", 3)  # the holders' home buckets run unevenly low
    buckets.rebalance_all()
    layout = buckets.snapshot([SKU])[SKU]
    assert not buckets.needs_rebalance(layout)
    monkeypatch.setenv("BUCKET_COLLAPSE_UNITS_PER_BUCKET", "5")  # 16 left over 4 buckets: near sell-out
    assert buckets.rebalance_all() == {"rebalanced": 1, "busy": 0}
    assert [bucket.available for bucket in buckets.snapshot([SKU])[SKU].buckets] == [16, 0, 0, 0]


def test_a_sold_out_hot_skus_hold_moves_to_its_order(fake):
    # GIVEN a hot SKU whose every unit one cart holds (found by test_hold_properties: the order's
    # growth found no bucket with units, the cart's release in the same transaction not counted)
    fake.put_stock(SKU, 1)
    set_stock(StockOwner(SKU, "", ""), None, 2)
    _hold("cart:a", 1)
    # WHEN checkout moves the hold to the order THEN it moves, in the bucket the cart's units are in
    hold_ids = orders.hold_for_order("cart:a", "o1", [orders.OrderLine(SKU, 1)], LATER)
    assert set(hold_ids) == {SKU} and fake.counters(SKU) == {"on_hand": 1, "reserved": 1, "available": 0}
