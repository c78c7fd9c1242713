"""Fault injection on the session's local stack, and the invariants every fault test checks after
recovery (stock, search, orders). See tests/faults/__init__.py for which test covers which fault."""

from __future__ import annotations

import importlib
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from tests.inventory.stock_audit import audit
from tests.support.waiting import wait_until  # noqa: F401 - re-exported to the fault tests

# -- a server that goes away and comes back -----------------------------------------------------


class FlakyLink:
    """A TCP hop between the stack and one of its servers (OpenSearch, the cache). `down()` makes
    the server unreachable, as when it crashes or is partitioned away: new connections are refused
    and open ones (the clients' pools) are cut. The server itself keeps its data, so `up()` brings
    back the same server at the same address, which is the harder case for stale read models and
    for clients that must reconnect on their own."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.target = (parts.hostname or "127.0.0.1", int(parts.port or 0))
        from local.moto_server import free_port

        self.port = free_port()
        self.url = parts._replace(netloc=f"127.0.0.1:{self.port}").geturl()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._reset_next = 0
        self.resets = 0  # connections reset by flap()
        self.up()

    def up(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            listener.settimeout(0.05)
            stopped = threading.Event()
            self._listener, self._stopped = listener, stopped
        threading.Thread(target=self._accept, args=(listener, stopped), name="flaky-link", daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            self._stopped.set()
            cut, self._open = self._open, set()
        if listener is not None:
            listener.close()
        for sock in cut:
            _cut(sock)

    def flap(self, connections: int) -> None:
        """A blip (the server restarting, a failover): open connections are cut and the next
        `connections` new ones are reset as soon as they are made; after that, all is well."""
        with self._lock:
            self._reset_next = connections
            cut, self._open = self._open, set()
        for sock in cut:
            _cut(sock)

    def _accept(self, listener: socket.socket, stopped: threading.Event) -> None:
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                reset = self._reset_next > 0
                if reset:
                    self._reset_next -= 1
                    self.resets += 1
            if reset:
                _cut(client)
                continue
            client.setblocking(True)
            try:
                server = socket.create_connection(self.target, timeout=2)
                server.settimeout(None)
            except OSError:
                _cut(client)
                continue
            with self._lock:
                if stopped.is_set():
                    _cut(client)
                    _cut(server)
                    continue
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), name="flaky-link-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._open -= {source, sink}


def _cut(sock: socket.socket) -> None:
    """Drop a connection hard (RST), waking any thread blocked on it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST
    except OSError:
        pass
    sock.close()


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """The handlers run in this process: os.environ is their environment."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@pytest.fixture
def search_link(local_stack) -> Iterator[FlakyLink]:
    """The stack's functions reach OpenSearch (osmem-server) through a FlakyLink for this test."""
    from functions.search.client import reset_clients

    link = FlakyLink(local_stack.search.url)
    try:
        with _environment("SEARCH_URL", link.url):
            yield link
    finally:
        link.down()
        reset_clients()


@pytest.fixture
def cache_link(local_stack) -> Iterator[FlakyLink]:
    """The stack's functions reach the cache server through a FlakyLink for this test."""
    from shared import cache

    link = FlakyLink(local_stack.cache.url)
    cache.reset_breaker()
    try:
        with _environment("CACHE_URL", link.url):
            yield link
    finally:
        link.down()
        cache.reset_breaker()  # the next test must not start with the breaker open


@pytest.fixture
def shopper(local_stack) -> Any:
    """A new customer with an empty cart (tests/checkout/conftest.py's `register`)."""
    from tests.checkout.conftest import register

    return register(local_stack)


# -- the stream poller, driven by the test ------------------------------------------------------


class Streams:
    """The local stack's stream poller, paused: the test decides when records are delivered. One
    `poll()` delivers what is pending; a failing batch of a mapping with limited retries is retried
    at once (then parked on its on-failure queue), one with unlimited retries once per poll."""

    def __init__(self, stack: Any) -> None:
        self.poller = stack.poller

    def poll(self, times: int = 1) -> int:
        return sum(self.poller.poll_once() for _ in range(times))

    def drain(self, timeout: float = 15.0) -> None:
        """Deliver until two polls in a row find nothing (a blocked shard never drains: it raises)."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise AssertionError("the streams did not settle")
            quiet = quiet + 1 if self.poller.poll_once() == 0 else 0


@pytest.fixture
def streams(local_stack) -> Iterator[Streams]:
    local_stack.poller.stop()
    try:
        yield Streams(local_stack)
    finally:
        local_stack.poller.start()


# -- reaching into the stack ----------------------------------------------------------------------


def function_name(stack: Any, handler: str) -> str:
    [name] = [name for name, spec in stack.runtime.functions.items() if spec.handler == handler]
    return name


def patch_handler_global(monkeypatch, stack: Any, handler: str, name: str, value: Any) -> None:
    """Replace a global of a handler module in every warm instance of the function (the local
    runtime gives each concurrent instance its own copy of the handler module)."""
    module = importlib.import_module(handler.rpartition(".")[0])
    monkeypatch.setattr(module, name, value)  # the first instance, and the module itself
    instances = stack.runtime._instances_of(function_name(stack, handler))
    warm = []
    while not instances.idle.empty():
        warm.append(instances.idle.get_nowait())
    for instance in warm:
        if instance.__globals__ is not vars(module):
            monkeypatch.setitem(instance.__globals__, name, value)
        instances.idle.put(instance)


def queue_url(stack: Any, construct_id: str) -> str:
    return stack.physical_name(construct_id, "AWS::SQS::Queue")


def queue_depth(stack: Any, url: str) -> int:
    sqs = boto3.client("sqs", endpoint_url=stack.moto.endpoint)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])




# -- invariants -----------------------------------------------------------------------------------


def stock_problems(stack: Any, sku_ids: list[str]) -> list[str]:
    """on_hand == available + reserved, the ledger reconciles, the holds add up (each SKU)."""
    return [f"{sku}: {problem}" for sku in sku_ids for problem in audit(stack, sku).problems()]


def search_problems(stack: Any, product_ids: list[str]) -> list[str]:
    """Where the search index disagrees with the tables for these products: the catalog part at
    the table's version, each SKU's stock at its stock item's version, and `in_stock`. Read
    straight from the stack's OpenSearch server (not through any FlakyLink)."""
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import NotFoundError

    from functions.inventory.stock import stock_levels
    from functions.search.documents import from_item
    from functions.search.mapping import ALIAS
    from ops.search_reindex import get_products

    client = OpenSearch(hosts=[stack.search.url], timeout=10)
    try:
        client.indices.refresh(index=ALIAS)
        documents = {}
        for product_id in product_ids:
            try:
                documents[product_id] = client.get(index=ALIAS, id=product_id)["_source"]
            except NotFoundError:
                documents[product_id] = None
    finally:
        client.close()
    items = get_products(product_ids)
    problems = []
    for product_id in product_ids:
        document = documents[product_id]
        if product_id not in items:
            if document is not None and document.get("status") == "ACTIVE":
                problems.append(f"{product_id}: deleted from the table, still searchable")
            continue
        action = from_item(items[product_id])
        if document is None:
            problems.append(f"{product_id}: not in the index")
            continue
        if document.get("catalog_version") != action.catalog_version:
            problems.append(f"{product_id}: index at catalog version {document.get('catalog_version')}, table at {action.catalog_version}")
        if action.op == "delete":
            if document.get("status") != "DELETED":
                problems.append(f"{product_id}: deleted in the table, {document.get('status')} in the index")
            continue
        expected = action.document or {}
        for field in ("status", "title", "price_min", "price_max", "sku_ids"):
            if document.get(field) != expected.get(field):
                problems.append(f"{product_id}: {field} {document.get(field)!r} in the index, {expected.get(field)!r} in the table")
        levels = stock_levels(expected["sku_ids"], consistent=True)
        stock = {sku: {"available": available, "version": version} for sku, (available, version) in levels.items()}
        if (document.get("stock") or {}) != stock:
            problems.append(f"{product_id}: stock {document.get('stock')} in the index, {stock} in the table")
        if document.get("in_stock") != any(available > 0 for available, _ in levels.values()):
            problems.append(f"{product_id}: in_stock {document.get('in_stock')} disagrees with the table")
    return problems


def availability_problems(stack: Any, sku_ids: list[str]) -> list[str]:
    """Where the availability cache disagrees with the inventory table (a missing key is no
    disagreement: pages then read the table; a stale value is)."""
    import redis

    from functions.inventory.availability import sku_key
    from functions.inventory.stock import stock_levels

    cache = redis.Redis.from_url(stack.cache.url, decode_responses=True)
    levels = stock_levels(sku_ids, consistent=True)
    problems = []
    for sku in sku_ids:
        cached = cache.get(sku_key(sku))
        available, version = levels[sku]
        if cached is not None and cached != f"{version}|{available}":
            problems.append(f"{sku}: cache says {cached!r}, table says {version}|{available}")
    return problems


def order_problems(stack: Any, buyer: Any, order_id: str, skus_before: dict[str, dict[str, int]], seller: Any) -> list[str]:
    """An order that ended must have left nothing behind. CANCELLED/FAILED: its stock is back to
    what it was before the checkout, no hold of it is left, and its money is not kept. CONFIRMED:
    its payment succeeded and each SKU sold exactly the ordered quantity. Never PROCESSING or
    PENDING_PAYMENT (a checkout that stopped halfway), and the stock invariants hold."""
    from functions.inventory.orders import holder_id
    from functions.payments.store import payment_id_for
    from tests.checkout.conftest import stock

    order = buyer.get(f"/api/v1/orders/{order_id}").json()["data"]
    problems = stock_problems(stack, list(skus_before))
    found = buyer.get(f"/api/v1/payments/{payment_id_for(order_id)}")  # there even if the order never showed it
    assert found.status_code in (200, 404), found.text
    payment = found.json()["data"] if found.status_code == 200 else None
    paid = payment is not None and payment["status"] == "succeeded"
    status = order["status"]
    if status in ("CANCELLED", "FAILED"):
        for sku, before in skus_before.items():
            if stock(seller, sku) != before:
                problems.append(f"{sku}: stock {stock(seller, sku)} after the {status} order, {before} before it")
            if holder_id(order_id) in audit(stack, sku).live_holds:
                problems.append(f"{sku}: a hold of the {status} order is left")
        if paid:
            problems.append(f"payment succeeded on a {status} order (not refunded)")
    elif status == "CONFIRMED":
        if not paid:
            problems.append(f"CONFIRMED order whose payment is {payment and payment['status']}")
        quantities = {line["sku_id"]: line["quantity"] for line in order["items"]}
        for sku, before in skus_before.items():
            sold = quantities.get(sku, 0)
            expected = {"on_hand": before["on_hand"] - sold, "reserved": before["reserved"], "available": before["available"] - sold}
            if stock(seller, sku) != expected:
                problems.append(f"{sku}: stock {stock(seller, sku)}, expected {expected} after selling {sold}")
    else:
        problems.append(f"order left {status}")
    return problems


def order_ends_clean(stack: Any, buyer: Any, order_id: str, skus_before: dict[str, dict[str, int]], seller: Any,
                     timeout: float = 15) -> list[str]:
    """order_problems once the order's saga and settlement are through (or the last problems seen)."""
    problems: list[str] = []

    def clean() -> bool:
        problems[:] = order_problems(stack, buyer, order_id, skus_before, seller)
        return not problems

    wait_until(clean, timeout=timeout, interval=0.25)
    return problems
