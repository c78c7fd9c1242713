"""Fixtures every test can use. Service-level fixtures live beside their tests."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
TEST_DEMO_PRODUCTS = 48


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadfile`, with all of tests/infra/ one unit: its modules share a session synth of
    the app (dev and prod, with the layer, cdk-nag: ~55 s) that a second worker would repeat."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class InfraTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "tests/infra/" if scope.startswith("tests/infra/") else scope

    return InfraTogether(config, log)


@pytest.fixture(scope="session")
def moto_server():
    """One moto server (patched, 127.0.0.1) for the whole test session; the SDK points at it."""
    from local.moto_server import start_moto_server

    server = start_moto_server()
    yield server
    server.stop()

class Api:
    """A tiny HTTP client for the local gateway that keeps the envelope handy."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)


# The session's local stack, if one was started: tests that share this process's environment
# with their own servers pause its background workers (see tests/search/conftest.py).
RUNNING_STACKS: list = []


@contextlib.contextmanager
def stacks_paused() -> Iterator[None]:
    """Every background loop of the running stacks stopped for the block (the stream and queue
    pollers, the TTL sweeper, the scheduler): tests that point this process's environment at
    their own servers or tables must not have a stack's functions run against them meanwhile."""
    loops = [getattr(stack, name) for stack in RUNNING_STACKS for name in ("poller", "queue_poller", "sweeper", "scheduler")
             if getattr(stack, name, None) is not None]
    for loop in loops:
        loop.stop()
    try:
        yield
    finally:
        for loop in loops:
            loop.start()


@pytest.fixture(scope="session")
def local_stack():
    from local.stack import LocalStack

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # A quarter of the demo catalog (2-3 per leaf category): the tests that read it need some of
    # every kind, not all 204; seeding those took ~15 s of each worker's start (make run seeds all).
    stack = LocalStack(port=0, seed=True, demo_product_count=TEST_DEMO_PRODUCTS).start()
    RUNNING_STACKS.append(stack)
    yield stack
    RUNNING_STACKS.remove(stack)
    stack.stop()


@pytest.fixture(scope="session")
def tokens(local_stack):
    from local.seed import DEMO_USERS, sign_in

    return {role: sign_in(local_stack, email, local_stack.demo_password) for email, role in DEMO_USERS}


@pytest.fixture(scope="session")
def anonymous(local_stack) -> Api:
    return Api(local_stack.url)


@pytest.fixture(scope="session")
def admin(local_stack, tokens) -> Api:
    return Api(local_stack.url, tokens["admin"]["AccessToken"])


@pytest.fixture(scope="session")
def customer(local_stack, tokens) -> Api:
    return Api(local_stack.url, tokens["customer"]["AccessToken"])


@pytest.fixture(scope="session")
def seller(local_stack, tokens) -> Api:
    return Api(local_stack.url, tokens["seller"]["AccessToken"])


@pytest.fixture(scope="session")
def leaf_category_id(anonymous) -> str:
    tree = anonymous.get("/api/v1/categories").json()["data"]
    clothing = next(node for node in tree if node["name"] == "Clothing")
    return next(child for child in clothing["children"] if child["name"] == "T-Shirts")["category_id"]


@pytest.fixture(scope="session")
def stocked_product(seller, leaf_category_id) -> Callable[..., dict]:
    """stocked_product([20, 5], price=1500) -> a new product whose SKUs have that on-hand stock."""

    def make(stock: list[int], price: int = 1500, currency: str = "USD") -> dict:
        body = {
            "title": f"Stock Test Tee {uuid.uuid4().hex[:8]}",
            "description": "For stock tests.",
            "brand": "Testwear",
            "category_id": leaf_category_id,
            "attributes": {},
            "images": [],
            "skus": [{"options": {"size": str(index)}, "price": price, "currency": currency} for index in range(len(stock))],
        }
        created = seller.post("/api/v1/products", json=body)
        assert created.status_code == 201, created.text
        product = created.json()["data"]
        for sku, on_hand in zip(product["skus"], stock, strict=True):
            response = seller.request("PUT", f"/api/v1/inventory/{sku['sku_id']}", json={"on_hand": on_hand})
            assert response.status_code == 200, response.text
        return product

    return make
