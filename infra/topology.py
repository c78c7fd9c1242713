"""The one list of the system's shape, collected from each service's slice.

Every service describes its routes, stream consumers, scheduled jobs, the tables it owns and the
services it calls in `functions/<service>/service.py` (types: infra/shape.py; tables:
infra/tables.py). CDK (infra/stack.py) builds a nested stack per service from these; the local
stack runs the templates CDK synthesizes from them. Nothing else lists routes or tables. To add an
endpoint, add a `Route` to its service's slice and a handler module under
functions/<service>/handlers/.
"""

from __future__ import annotations

from functions.cart.service import SERVICE as CART
from functions.catalog.service import PRODUCT_RECORDS
from functions.catalog.service import SERVICE as CATALOG
from functions.identity.service import SERVICE as IDENTITY
from functions.inventory.service import SERVICE as INVENTORY
from functions.inventory.service import STOCK_RECORDS, TTL_EXPIRED_HOLDS
from functions.notifications.service import ORDER_HEADERS
from functions.notifications.service import SERVICE as NOTIFICATIONS
from functions.orders.service import SERVICE as ORDERS
from functions.payments.service import SERVICE as PAYMENTS
from functions.reviews.service import SERVICE as REVIEWS
from functions.search.service import SEARCH_STOCK_RECORDS
from functions.search.service import SERVICE as SEARCH
from infra.shape import (
    API_PREFIX,
    Access,
    Auth,
    Index,
    PaymentSecret,
    Route,
    ScheduledJob,
    Service,
    StreamConsumer,
    Table,
    function_id,
    service_of,
)
from infra.tables import (
    CART_TABLE,
    CATALOG_TABLE,
    IDENTITY_TABLE,
    INVENTORY_TABLE,
    NOTIFICATIONS_TABLE,
    ORDERS_TABLE,
    PAYMENTS_TABLE,
)

# Lowest first: a service calls only services listed before it (tests/test_architecture.py).
SERVICES: tuple[Service, ...] = (IDENTITY, INVENTORY, CATALOG, CART, SEARCH, PAYMENTS, ORDERS, REVIEWS, NOTIFICATIONS)

__all__ = [
    "API_PREFIX", "Access", "Auth", "Index", "PaymentSecret", "Route", "ScheduledJob", "Service", "StreamConsumer", "Table",
    "function_id", "service_of", "SERVICES", "CART", "CATALOG", "IDENTITY", "INVENTORY", "NOTIFICATIONS", "ORDERS",
    "PAYMENTS", "REVIEWS", "SEARCH", "CART_TABLE", "CATALOG_TABLE", "IDENTITY_TABLE", "INVENTORY_TABLE",
    "NOTIFICATIONS_TABLE", "ORDERS_TABLE", "PAYMENTS_TABLE", "PRODUCT_RECORDS", "STOCK_RECORDS", "TTL_EXPIRED_HOLDS",
    "ORDER_HEADERS", "SEARCH_STOCK_RECORDS", "all_routes", "all_tables", "all_stream_consumers", "all_scheduled_jobs",
    "service_named",
]


def service_named(name: str) -> Service:
    return next(service for service in SERVICES if service.name == name)


def all_routes() -> list[Route]:
    return [route for service in SERVICES for route in service.routes]


def all_tables() -> list[Table]:
    return [table for service in SERVICES for table in service.tables]


def all_stream_consumers() -> list[StreamConsumer]:
    return [consumer for service in SERVICES for consumer in service.stream_consumers]


def all_scheduled_jobs() -> list[ScheduledJob]:
    return [job for service in SERVICES for job in service.scheduled_jobs]
