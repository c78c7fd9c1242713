"""The shopper mix of `make load` (locust): guests and signed-in shoppers browse, search, read
product pages, fill carts and check out; one seller changes prices and restocks meanwhile.

Run by `python -m load` in its own process (locust monkey-patches with gevent; the local stack
must never be), against the stack that process started:

    locust -f load/locustfile.py --headless -u 20 -r 5 -t 3m --host http://127.0.0.1:<port>

Every request is named by its route template ("/api/v1/products/{id}"), so locust's stats are
per endpoint. A 409 that the contract promises under contention (OUT_OF_STOCK, PRICE_CHANGED,
INVALID_STATE) is marked a success and counted apart; anything else that is not the answer the
flow expects is a failure. What happened to every order (paid, failed, left unpaid, cancelled)
goes to the journal ($LOAD_JOURNAL, JSON lines) so that `load.invariants` can check each order's
final state once the run is over; the expected-409 counts go to $LOAD_COUNTS when locust stops.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import RescheduleTask, StopUser

API = "/api/v1"
TIMEOUT = 30
PASSWORD = "Str0ng-Passw0rd!"
ADDRESS = {"name": "Ada Loadtest", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
SEARCH_WORDS = [
    "shirt", "tee", "jeans", "shoes", "jacket", "phone", "laptop", "tv", "headphones", "speaker", "lamp",
    "chair", "novel", "book", "tent", "yoga", "helmet", "pan", "knife", "classic", "premium", "organic",
]
SORTS = ["relevance", "price_asc", "price_desc", "newest", "rating"]
# CART_ALREADY_CHECKED_OUT: a shopper who left an order unpaid checks out again (ADR 0019).
EXPECTED_409 = {"OUT_OF_STOCK", "PRICE_CHANGED", "INVALID_STATE", "CART_ALREADY_CHECKED_OUT"}
# A limited drop: a few products with little stock ($LOAD_HOT_PRODUCTS, made scarce by
# `python -m load` before the run; else the first page of the first category). When a shopper
# picks one of them (HOT_SHARE of the picks) it wants the scarcest SKU in stock, so they contend.
HOT_PRODUCTS = 8
HOT_SHARE = 0.35
CONFIRM_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.5

# What to do once an order is payable (weights): most pay, some fail, some walk away, some cancel.
OUTCOMES = {"pay_succeeded": 70, "pay_failed": 10, "leave_unpaid": 10, "cancel": 10}
CANCEL_AFTER_PAYING = 0.05  # of the paid orders: cancelled once CONFIRMED (refund, stock back)
CANCEL_FAILED = 0.3  # of the orders whose payment failed: the shopper tries to cancel it too (409 INVALID_STATE)
REPLAY_SHARE = 0.05  # of the checkouts: POST /orders again with the same key (must replay the first answer)

# Expected 409s by "METHOD name" and code; written to $LOAD_COUNTS when the test stops.
expected_409: Counter[tuple[str, str]] = Counter()
checkouts: Counter[str] = Counter()  # outcomes of POST /orders and of what followed
flows: dict[str, list[float]] = {}  # end-to-end durations (ms) that span several requests


def _journal(entry: dict[str, Any]) -> None:
    path = os.environ.get("LOAD_JOURNAL")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({**entry, "at": time.time()}) + "\n")


@events.test_stop.add_listener
def _write_counts(**_: Any) -> None:
    path = os.environ.get("LOAD_COUNTS")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({
                "expected_409": [{"request": request, "code": code, "count": count} for (request, code), count in sorted(expected_409.items())],
                "checkouts": dict(checkouts),
                "flows": flows,
            }, out, indent=2)


def flow(name: str, started: float) -> None:
    """Record how long (since `started`, time.monotonic()) a multi-request step took."""
    flows.setdefault(name, []).append(round((time.monotonic() - started) * 1000, 1))


class Refused(RescheduleTask):
    """An expected 409: the flow stops here (its code is in .code)."""

    def __init__(self, code: str, body: dict[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.body = body


class Broken(RescheduleTask):
    """The answer was not what the flow needs (already recorded as a failure): stop the flow."""


@contextmanager
def starting() -> Iterator[None]:
    """In on_start: a failed request (already recorded) stops this user instead of raising."""
    try:
        yield
    except (Broken, Refused):
        raise StopUser() from None


class ApiUser(HttpUser):
    abstract = True

    def call(
        self,
        method: str,
        url: str,
        name: str,
        *,
        ok: tuple[int, ...] = (200,),
        refusals: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The answer's `data` (None for 204). An expected 409 (one of `refusals`) is a success that
        raises Refused; anything else outside `ok` is a failure that raises Broken."""
        with self.client.request(method, url, name=name, headers=headers, timeout=TIMEOUT, catch_response=True, **kwargs) as response:
            self.last_response = response
            status = response.status_code
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = None
            if status in ok:
                if status == 204:
                    response.success()
                    return None
                if not isinstance(body, dict) or body.get("status") != "success":
                    response.failure(f"{status} without the success envelope: {response.text[:200]}")
                    raise Broken(name)
                response.success()
                return body.get("data")
            error = (body or {}).get("error") if isinstance(body, dict) else None
            code = (error or {}).get("code", "?")
            if status == 409 and code in refusals and code in EXPECTED_409:
                response.success()
                expected_409[(f"{method} {name}", code)] += 1
                raise Refused(code, body or {})
            message = (error or {}).get("message") or response.text[:200] or str(getattr(response, "error", ""))
            response.failure(f"{status} {code}: {message}")
            raise Broken(name)

    def catalog_entry(self) -> tuple[list[str], list[str]]:
        """(leaf category ids, the hot products: the first page of the first leaf category, the
        same for every user, so that they contend for its stock)."""
        tree = self.call("GET", f"{API}/categories", "/api/v1/categories")
        leaves = [child["category_id"] for node in tree for child in node.get("children", [])] or [node["category_id"] for node in tree]
        hot = [product_id for product_id in os.environ.get("LOAD_HOT_PRODUCTS", "").split(",") if product_id]
        if not hot:
            page = self.call("GET", f"{API}/products", "/api/v1/products", params={"category": leaves[0], "limit": HOT_PRODUCTS})
            hot = [item["product_id"] for item in page["items"]]
        return leaves, hot

    def fail_check(self, name: str, message: str) -> None:
        """A failed expectation that no single HTTP status shows: recorded as a failed CHECK."""
        events.request.fire(request_type="CHECK", name=name, response_time=0, response_length=0,
                            exception=AssertionError(message), context={})


class Shopper(ApiUser):
    abstract = True
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.token: str | None = None  # signed in: the access token
        self.cart_token: str | None = None  # guest: X-Cart-Token
        self.products: list[str] = []  # product ids seen while browsing
        self.leaf_categories: list[str] = []
        self.hot: list[str] = []
        with starting():
            self.leaf_categories, self.hot = self.catalog_entry()

    # -- plumbing ---------------------------------------------------------------------------------
    def headers(self, *, auth: bool = True, cart: bool = True, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if cart and self.cart_token:
            headers["X-Cart-Token"] = self.cart_token
        return headers

    # -- shopping steps -------------------------------------------------------------------------
    def remember(self, product_ids: list[str]) -> None:
        self.products.extend(product_ids)
        del self.products[:-200]

    def pick_product(self) -> tuple[str | None, bool]:
        """(a product id, whether it is one of the hot ones)."""
        if self.hot and (random.random() < HOT_SHARE or not self.products):
            return random.choice(self.hot), True
        return (random.choice(self.products) if self.products else None), False

    def browse_category(self) -> None:
        if not self.leaf_categories:
            return
        category = random.choice(self.leaf_categories)
        data = self.call("GET", f"{API}/products", "/api/v1/products",
                         params={"category": category, "limit": random.choice([12, 20, 40])})
        self.remember([item["product_id"] for item in data["items"]])
        if data.get("next_cursor") and random.random() < 0.3:
            # A cursor pages on the list it came from: the same category (shared/cursors.py)
            more = self.call("GET", f"{API}/products", "/api/v1/products",
                             params={"category": category, "cursor": data["next_cursor"], "limit": 20})
            self.remember([item["product_id"] for item in more["items"]])

    def search(self) -> None:
        word = random.choice(SEARCH_WORDS)
        if random.random() < 0.3:
            self.call("GET", f"{API}/search/suggest", "/api/v1/search/suggest", params={"q": word[: random.randint(2, len(word))]})
        params: dict[str, Any] = {"q": word, "in_stock": "true", "limit": 20}
        if random.random() < 0.3:
            params["sort"] = random.choice(SORTS)
        if random.random() < 0.2:
            params["price_max"] = random.choice([2000, 5000, 20000])
        data = self.call("GET", f"{API}/search", "/api/v1/search", params=params)
        self.remember([item["product_id"] for item in data["items"]])

    def product_page(self, product_id: str | None = None) -> dict[str, Any] | None:
        if product_id is None:
            product_id, _ = self.pick_product()
        if product_id is None:
            return None
        product = self.call("GET", f"{API}/products/{product_id}", "/api/v1/products/{id}")
        if random.random() < 0.2:
            self.call("GET", f"{API}/products/{product_id}/reviews", "/api/v1/products/{id}/reviews")
        return product

    def add_to_cart(self, *, guest_cart: bool = False) -> str | None:
        """Add an in-stock SKU of a product (its page first); the SKU, or None if none could be added.
        From a hot product: its scarcest SKU in stock."""
        product_id, hot = self.pick_product()
        product = self.product_page(product_id) if product_id else None
        in_stock = [sku for sku in (product or {}).get("skus", []) if sku["availability"]["in_stock"]]
        if not in_stock:
            return None
        sku = min(in_stock, key=lambda s: s["availability"]["available"]) if hot else random.choice(in_stock)
        quantity = random.randint(1, max(1, min(3, sku["availability"]["available"])))
        headers = self.headers(auth=not guest_cart)
        try:
            self.call("POST", f"{API}/cart/items", "/api/v1/cart/items", ok=(200, 201), refusals=("OUT_OF_STOCK",),
                      headers=headers, json={"sku_id": sku["sku_id"], "quantity": quantity})
        except Refused:
            return None
        token = self.last_response.headers.get("X-Cart-Token")
        if token and (guest_cart or not self.token):
            self.cart_token = token
        return sku["sku_id"]

    def cart(self) -> dict[str, Any]:
        return self.call("GET", f"{API}/cart", "/api/v1/cart", headers=self.headers())

    def change_cart(self) -> None:
        if not self.token and not self.cart_token:
            return
        cart = self.cart()
        if not cart["items"]:
            return
        line = random.choice(cart["items"])
        sku = line["sku_id"]
        roll = random.random()
        if roll < 0.5:
            quantity = max(1, line["quantity"] + random.choice([-1, 1]))
            try:
                self.call("PUT", f"{API}/cart/items/{sku}", "/api/v1/cart/items/{sku_id}", refusals=("OUT_OF_STOCK",),
                          headers=self.headers(), json={"quantity": quantity})
            except Refused:
                pass
        elif roll < 0.85:
            self.call("DELETE", f"{API}/cart/items/{sku}", "/api/v1/cart/items/{sku_id}", headers=self.headers())
        else:
            self.call("DELETE", f"{API}/cart", "/api/v1/cart", ok=(204,), headers=self.headers())


class GuestShopper(Shopper):
    """Browses and fills a guest cart (X-Cart-Token), then changes it or walks away from it (its
    holds expire after RESERVATION_TTL_SECONDS)."""

    weight = 6

    @task(3)
    def browse(self) -> None:
        self.browse_category()

    @task(3)
    def find(self) -> None:
        self.search()

    @task(3)
    def view_product(self) -> None:
        self.product_page()

    @task(2)
    def add(self) -> None:
        if self.cart_token and len(self.cart().get("items", [])) >= 6:
            self.call("DELETE", f"{API}/cart", "/api/v1/cart", ok=(204,), headers=self.headers())
        self.add_to_cart()

    @task(1)
    def fiddle(self) -> None:
        self.change_cart()


class SignedInShopper(Shopper):
    """A registered shopper: browses, fills the cart and checks out; pays (or not) in the sandbox."""

    weight = 13

    def on_start(self) -> None:
        self.token = None
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        with starting():
            self.call("POST", f"{API}/auth/register", "/api/v1/auth/register", ok=(201,),
                      json={"email": email, "password": PASSWORD, "name": "Load Shopper"})
            tokens = self.call("POST", f"{API}/auth/login", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        super().on_start()
        self.token = tokens["access_token"]

    @task(2)
    def browse(self) -> None:
        self.browse_category()

    @task(2)
    def find(self) -> None:
        self.search()

    @task(2)
    def view_product(self) -> None:
        self.product_page()

    @task(1)
    def fiddle(self) -> None:
        self.change_cart()

    @task(1)
    def guest_then_sign_in(self) -> None:
        """Add to a guest cart first, then a signed-in request with the token merges it."""
        self.cart_token = None
        if self.add_to_cart(guest_cart=True) and self.cart_token:
            self.call("GET", f"{API}/cart", "/api/v1/cart", headers=self.headers())  # auth + token: the merge
        self.cart_token = None

    @task(4)
    def buy(self) -> None:
        try:
            self.checkout_flow()
        except Refused:
            pass

    def checkout_flow(self) -> None:
        cart = self.cart()
        if cart["items"]:  # left over from an earlier visit: start afresh
            self.call("DELETE", f"{API}/cart", "/api/v1/cart", ok=(204,), headers=self.headers())
        for _ in range(random.choice([1, 1, 2, 3])):
            if random.random() < 0.5:
                self.search()
            self.add_to_cart()
        cart = self.cart()
        if not cart["items"]:
            return
        if random.random() < 0.1:
            self.change_cart()
            cart = self.cart()
            if not cart["items"]:
                return
        order = self.place_order()
        if order is None:
            return
        self.after_order(order)

    def place_order(self, retry_on_price_change: bool = True) -> dict[str, Any] | None:
        key = uuid.uuid4().hex
        headers = self.headers(extra={"Idempotency-Key": key})
        body = {"shipping_address": ADDRESS}
        started = time.monotonic()
        try:
            order = self.call("POST", f"{API}/orders", "/api/v1/orders", ok=(201, 202),
                              refusals=("OUT_OF_STOCK", "PRICE_CHANGED", "CART_ALREADY_CHECKED_OUT"), headers=headers, json=body)
        except Refused as refused:
            details = refused.body.get("error", {}).get("details") or {}
            checkouts[f"refused {refused.code}"] += 1
            _journal({"order_id": details.get("order_id"), "action": "refused", "code": refused.code})
            if refused.code == "PRICE_CHANGED" and retry_on_price_change:
                return self.place_order(retry_on_price_change=False)
            return None
        created_status = self.last_response.status_code
        _journal({"order_id": order["order_id"], "action": "created", "status": created_status})
        if random.random() < REPLAY_SHARE:
            replay = self.call("POST", f"{API}/orders", "/api/v1/orders [replay]", ok=(201, 202), headers=headers, json=body)
            if replay["order_id"] != order["order_id"] or self.last_response.headers.get("Idempotent-Replayed") != "true":
                self.fail_check("/api/v1/orders [replay]", f"replay answered {replay['order_id']} (first {order['order_id']})")
        if created_status == 202 or not (order.get("payment") or {}).get("payment_url"):
            checkouts["202 processing"] += 1
            order = self.wait_for_order(order["order_id"], lambda o: o["status"] not in ("PROCESSING", "PENDING_PAYMENT")
                                        or bool((o.get("payment") or {}).get("payment_url")))
            if order is None or order["status"] != "PENDING_PAYMENT":
                code = (order or {}).get("reason") or "?"
                checkouts[f"failed after 202: {code}"] += 1
                _journal({"order_id": (order or {}).get("order_id"), "action": "failed_after_202", "code": code})
                return None
        checkouts["payable"] += 1
        flow("checkout: POST /orders -> payable", started)
        return order

    def after_order(self, order: dict[str, Any]) -> None:
        order_id = order["order_id"]
        outcome = random.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        checkouts[outcome] += 1
        payment_url = order["payment"]["payment_url"]
        if outcome == "leave_unpaid":
            _journal({"order_id": order_id, "action": "unpaid"})
            return
        if outcome == "cancel":
            time.sleep(random.uniform(0, 2))
            try:
                self.call("PUT", f"{API}/orders/{order_id}/cancel", "/api/v1/orders/{id}/cancel", refusals=("INVALID_STATE",),
                          headers=self.headers())
                _journal({"order_id": order_id, "action": "cancelled"})
            except Refused:
                _journal({"order_id": order_id, "action": "cancel_refused"})
            return
        started = time.monotonic()
        result = self.call("POST", payment_url, "/api/v1/sandbox/payments/{id}",
                           json={"outcome": "succeeded" if outcome == "pay_succeeded" else "failed"})
        if not result.get("delivered"):
            self.fail_check("/api/v1/sandbox/payments/{id}", f"webhook not delivered: {result}")
        paid = outcome == "pay_succeeded"
        _journal({"order_id": order_id, "action": "paid_succeeded" if paid else "paid_failed"})
        wanted = "CONFIRMED" if paid else "CANCELLED"
        final = self.wait_for_order(order_id, lambda o: o["status"] not in ("PROCESSING", "PENDING_PAYMENT"))
        if final is not None and final["status"] != wanted:
            checkouts[f"unexpected {final['status']} after {outcome}"] += 1
        elif final is not None:
            flow(f"payment: sandbox {'succeeded' if paid else 'failed'} -> order {wanted}", started)
        if paid and final is not None and final["status"] == "CONFIRMED":
            self.wait_for_cart_cleared(final, started)
        if not paid and final is not None and random.random() < CANCEL_FAILED:
            try:  # the shopper tries to cancel the order its failed payment already cancelled: 409
                self.call("PUT", f"{API}/orders/{order_id}/cancel", "/api/v1/orders/{id}/cancel", refusals=("INVALID_STATE",),
                          headers=self.headers())
                self.fail_check("/api/v1/orders/{id}/cancel [after failed payment]", f"{order_id} {final['status']} was cancelled again")
            except Refused:
                pass
        if paid and final is not None and final["status"] == "CONFIRMED" and random.random() < CANCEL_AFTER_PAYING:
            try:
                self.call("PUT", f"{API}/orders/{order_id}/cancel", "/api/v1/orders/{id}/cancel", refusals=("INVALID_STATE",),
                          headers=self.headers())
                _journal({"order_id": order_id, "action": "paid_then_cancelled"})
            except Refused:
                pass

    def wait_for_cart_cleared(self, order: dict[str, Any], started: float) -> None:
        """The saga clears the bought lines from the cart after confirming the order: the order
        page shows CONFIRMED a moment before. The shopper looks at the cart until they are gone."""
        bought = {line["sku_id"] for line in order["items"]}
        deadline = time.monotonic() + CONFIRM_WAIT_SECONDS
        while bought & {line["sku_id"] for line in self.cart()["items"]}:
            if time.monotonic() > deadline:
                self.fail_check("/api/v1/cart [cleared after CONFIRMED]", f"{order['order_id']}'s lines still in the cart")
                return
            time.sleep(POLL_SECONDS)
        flow("payment: sandbox succeeded -> bought lines gone from the cart", started)

    def wait_for_order(self, order_id: str, done: Any) -> dict[str, Any] | None:
        deadline = time.monotonic() + CONFIRM_WAIT_SECONDS
        while True:
            order = self.call("GET", f"{API}/orders/{order_id}", "/api/v1/orders/{id}", headers=self.headers())
            if done(order):
                return order
            if time.monotonic() > deadline:
                self.fail_check("/api/v1/orders/{id} [wait]", f"order {order_id} still {order['status']} after {CONFIRM_WAIT_SECONDS:g} s")
                return None
            time.sleep(POLL_SECONDS)


class Seller(ApiUser):
    """The demo seller: now and then changes a price (shoppers holding it get PRICE_CHANGED at
    checkout) or restocks a SKU, while shoppers buy from it."""

    fixed_count = 1
    wait_time = between(3, 6)

    def on_start(self) -> None:
        self.token = None
        email = os.environ.get("LOAD_SELLER_EMAIL", "seller@example.com")
        password = os.environ.get("LOAD_SELLER_PASSWORD", "Demo-Passw0rd!")
        with starting():
            tokens = self.call("POST", f"{API}/auth/login", "/api/v1/auth/login", json={"email": email, "password": password})
            self.auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            _, self.hot = self.catalog_entry()

    def sku_of_hot_product(self) -> tuple[str, dict[str, Any]]:
        product_id = random.choice(self.hot)
        product = self.call("GET", f"{API}/products/{product_id}", "/api/v1/products/{id}")
        return product_id, random.choice(product["skus"])

    @task(2)
    def change_price(self) -> None:
        product_id, sku = self.sku_of_hot_product()
        price = max(99, sku["price"] + random.choice([-100, 100]))
        self.call("PUT", f"{API}/products/{product_id}", "/api/v1/products/{id}", headers=self.auth,
                  json={"skus": [{"sku_id": sku["sku_id"], "price": price, "currency": sku["currency"]}]})

    @task(1)
    def restock(self) -> None:
        _, sku = self.sku_of_hot_product()
        stock = self.call("GET", f"{API}/inventory/{sku['sku_id']}", "/api/v1/inventory/{sku_id}", headers=self.auth)
        self.call("PUT", f"{API}/inventory/{sku['sku_id']}", "/api/v1/inventory/{sku_id}", headers=self.auth,
                  json={"on_hand": stock["on_hand"] + random.randint(1, 5)})
