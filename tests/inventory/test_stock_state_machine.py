"""A hypothesis state machine drives carts over HTTP (reserve, change quantity, remove, clear,
expire, restock, and for hot SKUs: change the bucket count, rebalance) and checks, after every
step, that the API did what a simple model predicts and that the stock invariants hold, per stock
bucket and in total: counters never negative, on_hand == available + reserved, the ledger sums to
the counters, and the live holds add up to `reserved` (ADR 0011, ADR 0022)."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.conftest import Api
from tests.inventory.stock_audit import audit, expire_holds_now

CARTS = 3
SKUS = 2
INITIAL_STOCK = 6


def test_stock_invariants_hold_under_any_sequence_of_cart_operations(local_stack, seller, stocked_product):
    from functions.inventory.buckets import rebalance_all
    from functions.inventory.consumers.sweep_holds import sweep

    class CartMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.skus = [sku["sku_id"] for sku in stocked_product([INITIAL_STOCK] * SKUS)["skus"]]
            self.on_hand = {sku: INITIAL_STOCK for sku in self.skus}
            self.clients = [Api(local_stack.url) for _ in range(CARTS)]
            self.tokens: list[str | None] = [None] * CARTS
            self.lines: dict[tuple[int, str], int] = {}  # (cart, sku) -> quantity in the cart
            self.held: dict[tuple[int, str], int] = {}  # (cart, sku) -> quantity reserved
            # the first SKU is hot from the start: its stock lies in 3 buckets
            response = seller.request("PUT", f"/api/v1/inventory/{self.skus[0]}", json={"buckets": 3})
            assert response.status_code == 200, response.text

        # -- the model ---------------------------------------------------------------------
        def available(self, sku: str) -> int:
            return self.on_hand[sku] - sum(q for (_, s), q in self.held.items() if s == sku)

        def headers(self, cart: int) -> dict[str, str]:
            return {"X-Cart-Token": self.tokens[cart]} if self.tokens[cart] else {}

        def renew_others(self, cart: int, sku: str | None) -> None:
            pass  # renewals never change quantities: nothing to model

        # -- rules ---------------------------------------------------------------------------
        @rule(cart=st.integers(0, CARTS - 1), index=st.integers(0, SKUS - 1), quantity=st.integers(1, 4))
        def reserve(self, cart: int, index: int, quantity: int) -> None:
            sku = self.skus[index]
            line = self.lines.get((cart, sku), 0)
            need = line + quantity - self.held.get((cart, sku), 0)
            response = self.clients[cart].post("/api/v1/cart/items", json={"sku_id": sku, "quantity": quantity},
                                               headers=self.headers(cart))
            if need > self.available(sku):
                assert response.status_code == 409, response.text
                assert response.json()["error"]["code"] == "OUT_OF_STOCK"
                return
            assert response.status_code in (200, 201), response.text
            self.tokens[cart] = self.tokens[cart] or response.headers.get("X-Cart-Token")
            self.lines[(cart, sku)] = self.held[(cart, sku)] = line + quantity

        @precondition(lambda self: bool(self.lines))
        @rule(data=st.data(), quantity=st.integers(1, 8))
        def change_quantity(self, data, quantity: int) -> None:
            cart, sku = data.draw(st.sampled_from(sorted(self.lines)))
            need = quantity - self.held.get((cart, sku), 0)
            response = self.clients[cart].request("PUT", f"/api/v1/cart/items/{sku}", json={"quantity": quantity},
                                                  headers=self.headers(cart))
            if need > self.available(sku):
                assert response.status_code == 409, response.text
                return
            assert response.status_code == 200, response.text
            self.lines[(cart, sku)] = self.held[(cart, sku)] = quantity

        @precondition(lambda self: bool(self.lines))
        @rule(data=st.data())
        def remove(self, data) -> None:
            cart, sku = data.draw(st.sampled_from(sorted(self.lines)))
            response = self.clients[cart].request("DELETE", f"/api/v1/cart/items/{sku}", headers=self.headers(cart))
            assert response.status_code == 200, response.text
            del self.lines[(cart, sku)]
            self.held.pop((cart, sku), None)

        @precondition(lambda self: any(token for token in self.tokens))
        @rule(data=st.data())
        def clear(self, data) -> None:
            cart = data.draw(st.sampled_from([i for i, token in enumerate(self.tokens) if token]))
            response = self.clients[cart].request("DELETE", "/api/v1/cart", headers=self.headers(cart))
            assert response.status_code == 204, response.text
            for key in [key for key in self.lines if key[0] == cart]:
                del self.lines[key]
                self.held.pop(key, None)

        @precondition(lambda self: bool(self.held))
        @rule(data=st.data())
        def expire(self, data) -> None:
            cart, sku = data.draw(st.sampled_from(sorted(self.held)))
            # The hold's time comes: the sweeper (or TTL) releases it; the line stays, unreserved.
            expire_holds_now(local_stack, sku)
            sweep()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                state = audit(local_stack, sku)
                if not state.live_holds and not state.problems():
                    break
                time.sleep(0.1)  # a TTL deletion got there first: its stream record releases it
            for key in [key for key in self.held if key[1] == sku]:
                del self.held[key]

        @rule(index=st.integers(0, SKUS - 1), on_hand=st.integers(0, 12))
        def restock(self, index: int, on_hand: int) -> None:
            sku = self.skus[index]
            response = seller.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": on_hand})
            reserved = self.on_hand[sku] - self.available(sku)
            if on_hand < reserved:
                assert response.status_code == 409, response.text
                return
            assert response.status_code == 200, response.text
            self.on_hand[sku] = on_hand

        @rule(index=st.integers(0, SKUS - 1), buckets=st.integers(1, 4))
        def set_buckets(self, index: int, buckets: int) -> None:
            # Sharding moves available stock between buckets; what anyone can reserve is unchanged.
            sku = self.skus[index]
            response = seller.request("PUT", f"/api/v1/inventory/{sku}", json={"buckets": buckets})
            assert response.status_code == 200, response.text
            assert response.json()["data"]["buckets"] == buckets
            assert response.json()["data"]["available"] == self.available(sku)

        @rule()
        def rebalance(self) -> None:
            rebalance_all()

        # -- invariants ------------------------------------------------------------------------
        @invariant()
        def stock_is_consistent(self) -> None:
            for sku in self.skus:
                state = audit(local_stack, sku)
                assert state.problems() == [], state.problems()
                assert state.on_hand == self.on_hand[sku]
                assert state.available == self.available(sku)

    run_state_machine_as_test(
        CartMachine,
        settings=settings(max_examples=8, stateful_step_count=14, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
