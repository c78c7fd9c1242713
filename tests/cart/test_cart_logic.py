"""The cart's logic against in-memory stores with DynamoDB's conditional semantics (tests/support/
fake_stores.py), the real hold logic in between, and a catalog stub: add, update, remove, clear,
merge, the limits, price acceptance, taking an order out. No moto, no stack: milliseconds.

The same behaviour over HTTP, on the local stack, is in tests/e2e/test_cart.py and friends."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import pytest

from functions.cart import carts, checkout_claims
from functions.cart import store as cart_store
from functions.cart.store import CartRef
from functions.catalog.api import CatalogUnavailable, SkuInfo
from functions.inventory import buckets, holds, orders
from functions.inventory import store as inventory_store
from functions.inventory.holds import ConcurrentChange
from shared.errors import HoldTimeExceeded, NotFound, OutOfStock, QuantityLimitExceeded, ValidationError
from tests.support.fake_stores import FakeCartStore, FakeInventoryStore

GUEST = CartRef("cart_g1", "guest")
USER = CartRef("cart_u1", "user:usr_1")
TEE, MUG, EUR = "sku_TEE", "sku_MUG", "sku_EUR"


@dataclass
class Catalog:
    """catalog.api as the cart uses it: current_or_last_known, behind a breaker (down: last known)."""

    skus: dict[str, SkuInfo] = field(default_factory=dict)
    down: bool = False
    known: dict[str, SkuInfo] = field(default_factory=dict)
    CatalogUnavailable = CatalogUnavailable

    def current_or_last_known(self, sku_ids: list[str]) -> tuple[dict[str, SkuInfo], set[str]]:
        if self.down:
            return {sku: self.known[sku] for sku in sku_ids if sku in self.known}, set(sku_ids)
        found = {sku: self.skus[sku] for sku in sku_ids if sku in self.skus}
        self.known.update(found)
        return found, set()


def _sku(sku_id: str, price: int = 1500, currency: str = "USD", max_per_cart: int = 50) -> SkuInfo:
    return SkuInfo(sku_id, "prd_1", "usr_seller", f"Title {sku_id}", {"size": "M"}, price, currency, None, max_per_cart)


@dataclass
class World:
    inventory: FakeInventoryStore
    carts: FakeCartStore
    catalog: Catalog

    def reserved(self, sku: str) -> int:
        return self.inventory.counters(sku)["reserved"]

    def line(self, ref: CartRef, sku: str) -> int | None:
        line = carts.load(ref).lines.get(sku)
        return line.quantity if line else None


@pytest.fixture
def world(monkeypatch) -> World:
    monkeypatch.delenv("CACHE_URL", raising=False)  # no admission gate: the transaction decides
    for module in (holds, buckets, orders):
        monkeypatch.setattr(module, "_pause", lambda seconds: None)
    catalog = Catalog({TEE: _sku(TEE), MUG: _sku(MUG, price=800, max_per_cart=3), EUR: _sku(EUR, currency="EUR")})
    monkeypatch.setattr(carts, "catalog", catalog)
    inventory, stored = FakeInventoryStore(), FakeCartStore()
    for sku in (TEE, MUG, EUR):
        inventory.put_stock(sku, 10)
    with inventory_store.using(inventory), cart_store.using(stored):
        yield World(inventory, stored, catalog)
    assert inventory.problems() == []


# -- add, update, remove, clear -----------------------------------------------------------------


def test_adding_reserves_the_stock_with_the_line(world):
    cart = carts.add(GUEST, TEE, 3)
    assert cart.exists and cart.lines[TEE].quantity == 3 and cart.lines[TEE].added_price == 1500
    assert world.reserved(TEE) == 3 and cart.holds_until is not None  # a guest's hold window starts
    assert carts.add(GUEST, TEE, 2).lines[TEE].quantity == 5 and world.reserved(TEE) == 5
    view = carts.view(carts.load(GUEST))
    assert view["subtotal"] == 5 * 1500 and view["items"][0]["reserved_until"] and view["cart_id"] == GUEST.cart_id


def test_a_failed_reservation_leaves_the_cart_as_it_was(world):
    carts.add(USER, TEE, 8)
    with pytest.raises(OutOfStock) as refused:
        carts.add(USER, TEE, 3)
    assert refused.value.details == {"sku_id": TEE, "requested": 3, "available": 2}
    assert world.line(USER, TEE) == 8 and world.reserved(TEE) == 8
    with pytest.raises(OutOfStock):
        carts.add(GUEST, TEE, 3)  # a new cart is not even created
    assert not carts.load(GUEST).exists


def test_the_limits_of_a_cart(world):
    with pytest.raises(QuantityLimitExceeded) as limited:
        carts.add(USER, MUG, 4)
    assert limited.value.details == {"sku_id": MUG, "max_per_cart": 3, "in_cart": 0, "requested": 4}
    carts.add(USER, MUG, 3)
    with pytest.raises(QuantityLimitExceeded):
        carts.add(USER, MUG, 1)
    with pytest.raises(ValidationError):
        carts.add(USER, EUR, 1)  # another currency than the cart's
    world.catalog.skus["sku_BIG"] = _sku("sku_BIG")
    world.inventory.put_stock("sku_BIG", 100)
    carts.add(USER, "sku_BIG", 50)
    with pytest.raises(ValidationError):
        carts.add(USER, "sku_BIG", 1)  # a line holds at most 50
    for index in range(carts.MAX_LINES - 2):
        sku = f"sku_X{index}"
        world.catalog.skus[sku] = _sku(sku)
        world.inventory.put_stock(sku, 1)
        carts.add(USER, sku, 1)
    world.catalog.skus["sku_ONE_MORE"] = _sku("sku_ONE_MORE")
    world.inventory.put_stock("sku_ONE_MORE", 1)
    with pytest.raises(ValidationError):
        carts.add(USER, "sku_ONE_MORE", 1)
    carts.clear(USER)  # 24 lines: one transaction
    assert carts.load(USER).lines == {} and world.reserved("sku_BIG") == 0


def test_an_unknown_sku_is_404_and_an_unreachable_catalog_503(world):
    with pytest.raises(NotFound):
        carts.add(USER, "sku_NOPE", 1)
    world.catalog.down = True
    with pytest.raises(CatalogUnavailable):
        carts.add(USER, TEE, 1)  # never seen: nothing to go on


def test_a_quantity_change_moves_the_hold_by_the_difference(world):
    carts.add(USER, TEE, 2)
    assert carts.set_quantity(USER, TEE, 6).lines[TEE].quantity == 6 and world.reserved(TEE) == 6
    assert carts.set_quantity(USER, TEE, 1).lines[TEE].quantity == 1 and world.reserved(TEE) == 1
    with pytest.raises(NotFound):
        carts.set_quantity(USER, MUG, 1)


def test_a_line_over_a_lowered_limit_may_shrink_but_not_grow(world):
    carts.add(USER, MUG, 3)
    world.catalog.skus[MUG] = replace(world.catalog.skus[MUG], max_per_cart=1)
    with pytest.raises(QuantityLimitExceeded):
        carts.set_quantity(USER, MUG, 3 + 1)
    assert carts.set_quantity(USER, MUG, 2).lines[MUG].quantity == 2
    world.catalog.down = True
    world.catalog.known.pop(MUG)
    assert carts.set_quantity(USER, MUG, 1).lines[MUG].quantity == 1  # shrinking needs no catalog
    with pytest.raises(CatalogUnavailable):
        carts.set_quantity(USER, MUG, 2)  # growing checks the limit


def test_removing_and_clearing_release_the_holds(world):
    carts.add(USER, TEE, 2)
    carts.add(USER, MUG, 1)
    assert TEE not in carts.remove(USER, TEE).lines and world.reserved(TEE) == 0
    with pytest.raises(NotFound):
        carts.remove(USER, TEE)
    carts.clear(USER)
    assert carts.load(USER).lines == {} and world.reserved(MUG) == 0
    carts.clear(CartRef("cart_u_none", "user:usr_none"))  # a user without a cart: already empty
    with pytest.raises(NotFound):
        carts.clear(CartRef("cart_g_none", "guest"))


def test_any_change_renews_the_other_lines_holds_but_never_reserves_a_lapsed_one(world):
    carts.add(USER, TEE, 2)
    carts.add(USER, MUG, 1)
    lapsed = world.inventory.holds[(MUG, USER.cart_id)]
    assert holds.release_if_expired(lapsed, now=lapsed.expires_at)  # the sweeper released it
    world.inventory.holds[(TEE, USER.cart_id)] = replace(world.inventory.holds[(TEE, USER.cart_id)], expires_at=1)
    carts.set_quantity(USER, TEE, 3)
    assert world.inventory.holds[(TEE, USER.cart_id)].expires_at > 1 and world.reserved(MUG) == 0
    view = {item["sku_id"]: item for item in carts.view(carts.load(USER))["items"]}
    assert view[MUG]["reserved_until"] is None and view[TEE]["reserved_until"]
    carts.set_quantity(USER, MUG, 1)  # changing the lapsed line reserves it again
    assert world.reserved(MUG) == 1


def test_a_guests_holds_never_outlive_its_hold_window(world, monkeypatch):
    monkeypatch.setenv("GUEST_MAX_HOLD_SECONDS", "60")
    cart = carts.add(GUEST, TEE, 1)
    assert world.inventory.holds[(TEE, GUEST.cart_id)].expires_at <= cart.holds_until
    world.carts.carts[GUEST.cart_id].header.holds_until = 1  # the window has passed
    with pytest.raises(HoldTimeExceeded):
        carts.add(GUEST, TEE, 1)
    assert carts.set_quantity(GUEST, TEE, 1).lines[TEE].quantity == 1  # no growth: fine
    assert carts.remove(GUEST, TEE).lines == {}


def test_concurrent_changes_to_one_cart_never_lose_each_other(world):
    carts.add(USER, TEE, 1)
    calls = [(contextvars.copy_context(), sku) for sku in [TEE] * 6 + [MUG] * 3]
    with ThreadPoolExecutor(max_workers=9) as pool:
        list(pool.map(lambda pair: pair[0].run(carts.add, USER, pair[1], 1), calls))
    cart = carts.load(USER)
    assert cart.lines[TEE].quantity == 7 and cart.lines[MUG].quantity == 3 and cart.version == 10
    assert world.reserved(TEE) == 7 and world.reserved(MUG) == 3


# -- merge on sign-in ---------------------------------------------------------------------------


def test_signing_in_merges_the_guest_cart_line_by_line(world):
    carts.add(GUEST, TEE, 4)
    carts.add(GUEST, MUG, 2)
    carts.add(USER, TEE, 3)
    carts.add(USER, MUG, 2)
    carts.merge(GUEST, USER)
    user = carts.load(USER)
    assert user.lines[TEE].quantity == 7 and user.lines[MUG].quantity == 3  # added up, to max_per_cart
    assert not carts.load(GUEST).exists and not any(holder == GUEST.cart_id for _, holder in world.inventory.holds)
    assert world.reserved(TEE) == 7 and world.reserved(MUG) == 3
    carts.merge(GUEST, USER)  # a spent token: nothing happens
    assert carts.load(USER).lines[TEE].quantity == 7


def test_a_merged_line_that_cannot_be_reserved_moves_unreserved_and_a_gone_one_is_dropped(world):
    carts.add(GUEST, TEE, 2)
    carts.add(GUEST, MUG, 1)
    lapsed = world.inventory.holds[(TEE, GUEST.cart_id)]
    holds.release_if_expired(lapsed, now=lapsed.expires_at)
    carts.add(USER, TEE, 9)  # the rest of the stock
    del world.catalog.skus[MUG]  # gone from the catalog
    carts.merge(GUEST, USER)
    user = carts.load(USER)
    assert user.lines[TEE].quantity == 11 and MUG not in user.lines
    assert world.inventory.holds[(TEE, USER.cart_id)].quantity == 9 and world.reserved(MUG) == 0


# -- prices and checkout ------------------------------------------------------------------------


def test_a_line_keeps_its_price_until_the_shopper_accepts_the_new_one(world):
    carts.add(USER, TEE, 2)
    world.catalog.skus[TEE] = replace(world.catalog.skus[TEE], price=1700)
    item = carts.view(carts.load(USER))["items"][0]
    assert (item["unit_price"], item["price_changed"]) == (1700, True)
    carts.add(USER, TEE, 1)  # the line is rewritten, still at the price it was added at
    assert carts.load(USER).lines[TEE].added_price == 1500
    carts.accept_prices(USER, {TEE: 1700, MUG: 800})  # a line not in the cart needs no price
    assert carts.view(carts.load(USER))["items"][0]["price_changed"] is False and MUG not in carts.load(USER).lines
    world.catalog.down = True
    view = carts.view(carts.load(USER))
    assert view["price_may_have_changed"] is True and view["items"][0]["purchasable"] is True


def test_what_an_order_bought_leaves_the_cart_once(world):
    carts.add(USER, TEE, 3)
    carts.remove_ordered(USER, "ord_1", {TEE: 2})
    carts.remove_ordered(USER, "ord_1", {TEE: 2})  # a retried step
    assert world.line(USER, TEE) == 1 and world.reserved(TEE) == 1


def test_one_checkout_claims_the_cart_at_a_time(world):
    carts.add(USER, TEE, 2)
    lines = [orders.OrderLine(TEE, 2)]
    first = checkout_claims.claim_write(USER.cart_id, "ord_1", 2_000_000_000)
    orders.hold_for_order(USER.cart_id, "ord_1", lines, 2_000_000_000, also=[first])
    assert checkout_claims.holder(USER.cart_id) == "ord_1"
    with pytest.raises(ConcurrentChange):
        second = checkout_claims.claim_write(USER.cart_id, "ord_2", 2_000_000_000)
        orders.hold_for_order(USER.cart_id, "ord_2", lines, 2_000_000_000, also=[second])
    checkout_claims.release(USER.cart_id, "ord_2")  # not its claim: left alone
    assert checkout_claims.holder(USER.cart_id) == "ord_1"
    checkout_claims.release(USER.cart_id, "ord_1")
    assert checkout_claims.holder(USER.cart_id) is None and world.reserved(TEE) == 2
