"""The system's DynamoDB tables. They live in the parent stack (infra/stack.py), whose construct
ids give them their logical ids, so a service's nested stack can be replaced without moving data;
each is owned by one service (its `service.py` lists it) and reached by others only through that
service's `api` module.
"""

from __future__ import annotations

from infra.shape import Index, Table

# --- tables ------------------------------------------------------------------------------------
CATALOG_TABLE = Table(
    id="CatalogTable",
    env_var="CATALOG_TABLE_NAME",
    indexes=(Index("gsi1", "gsi1pk", "gsi1sk"), Index("gsi2", "gsi2pk", "gsi2sk")),
    stream=True,  # change-data capture into search and the product cache
)

INVENTORY_TABLE = Table(
    id="InventoryTable",
    env_var="INVENTORY_TABLE_NAME",
    indexes=(Index("gsi1", "gsi1pk", "gsi1sk"),),  # holds by expiry, for the sweeper
    stream=True,  # availability cache, search's in_stock, and TTL-expired holds
    ttl_attribute="expires_at",  # stock holds (reservations) expire on their own
)

CART_TABLE = Table(
    id="CartTable",
    env_var="CART_TABLE_NAME",
    ttl_attribute="expires_at",  # abandoned carts: 30 days (guest), 90 days (user)
)

ORDERS_TABLE = Table(
    id="OrdersTable",
    env_var="ORDERS_TABLE_NAME",
    # gsi1: a buyer's orders, gsi2: a seller's order parts (both newest first)
    indexes=(Index("gsi1", "gsi1pk", "gsi1sk"), Index("gsi2", "gsi2pk", "gsi2sk")),
    stream=True,  # order events leave through the stream: notifications, the cancellation settler
    ttl_attribute="expires_at",  # idempotency records (24 h)
)

PAYMENTS_TABLE = Table(
    id="PaymentsTable",
    env_var="PAYMENTS_TABLE_NAME",
    stream=True,  # a payment's changes reach the orders service as events (ADR 0039): refunds, late money
    ttl_attribute="expires_at",  # webhook de-duplication records (30 days), idempotency records
)

NOTIFICATIONS_TABLE = Table(
    id="NotificationsTable",
    env_var="NOTIFICATIONS_TABLE_NAME",
    ttl_attribute="expires_at",  # the sent-notification log (and the local outbox), 90 days
)

IDENTITY_TABLE = Table(
    id="IdentityTable",
    env_var="IDENTITY_TABLE_NAME",
    ttl_attribute="expires_at",  # login throttling counters expire on their own
)
