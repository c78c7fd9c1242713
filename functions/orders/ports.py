"""The orders service's way out: its own table, and the api modules of the services it calls (cart,
catalog, inventory, payments: never their other modules), and Step Functions.

The checkout saga (functions/orders/saga.py) and the settlement (functions/orders/settlement.py)
take a `Ports`: the real modules by default, each imported on first use, so a saga step's Lambda
loads only the services its step calls (a cold-start matter: every step is its own function);
tests give in-memory fakes (tests/orders/test_saga_decisions.py). `OrderStore` is what the saga
and the settlement need of the orders table (functions/orders/store.py has it).
"""

from __future__ import annotations

from typing import Any, Protocol

from functions.orders import store as orders_store
from functions.orders.checkout import step_functions
from functions.orders.domain import Order


class OrderStore(Protocol):
    """What the saga and the settlement read and write of the orders table (functions/orders/store.py)."""

    def get(self, order_id: str) -> Order | None: ...

    def require(self, order_id: str) -> Order: ...

    def set_fields(self, order_id: str, fields: dict[str, Any], status: str) -> Order: ...

    def transition(self, order_id: str, to: str, **kwargs: Any) -> tuple[Order, bool]: ...

    def cancel(self, order: Order, reason: str) -> tuple[Order, bool]: ...

    def confirmation_writes(self, order: Order) -> list[dict[str, Any]]: ...

    def status_check(self, order_id: str, status: str) -> dict[str, Any]: ...


class Ports:
    """What orders' logic calls. Given ones are used as they are; the others are the real modules,
    imported when first asked for (the api modules are what another service offers, ADR 0039)."""

    def __init__(
        self, *, store: OrderStore | None = None, cart: Any = None, catalog: Any = None, inventory: Any = None,
        payments: Any = None, step_functions: Any = None,
    ) -> None:
        self.store: OrderStore = store or orders_store  # type: ignore[assignment] - a module is the protocol's implementation
        self._cart, self._catalog, self._inventory, self._payments = cart, catalog, inventory, payments
        self._step_functions = step_functions

    @property
    def cart(self) -> Any:
        if self._cart is None:
            from functions.cart import api  # deferred for cold start only: the steps that use the cart load it

            self._cart = api
        return self._cart

    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            from functions.catalog import api  # deferred for cold start only (ValidateCart)

            self._catalog = api
        return self._catalog

    @property
    def inventory(self) -> Any:
        if self._inventory is None:
            from functions.inventory import api  # deferred for cold start only

            self._inventory = api
        return self._inventory

    @property
    def payments(self) -> Any:
        if self._payments is None:
            from functions.payments import api  # deferred for cold start only

            self._payments = api
        return self._payments

    def step_functions(self) -> Any:
        """A Step Functions client (stopping a checkout that waits on its payment)."""
        return step_functions() if self._step_functions is None else self._step_functions


REAL = Ports()
