"""The one source of truth for the system's shape: routes, tables, stream consumers.

CDK (infra/stack.py) builds AWS resources from these definitions; the local stack runs the
template CDK synthesizes from them. Nothing else lists routes or tables. To add an endpoint,
add a `Route` here and a handler module under functions/<service>/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

API_PREFIX = "/api/v1"


class Auth(StrEnum):
    PUBLIC = "public"  # anyone, no token needed
    USER = "user"  # a valid Cognito access token (roles are checked by the handler)
    # Guests and users alike (the cart): no authorizer at the edge; a token, if sent, is
    # verified by the handler (shared/tokens.py) with the same rules, and a bad one is a 401.
    OPTIONAL = "optional"


class PaymentSecret(StrEnum):
    """Which payment secret a function may read (infra/payments.py): grants and variables follow."""

    WEBHOOK = "webhook"  # the webhook signing secret: only the verifier and the sandbox's signer
    PROVIDER_API = "provider_api"  # the provider's API key (stripe stages): whoever creates intents or refunds


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class Table:
    id: str  # CDK construct id, e.g. "CatalogTable"
    env_var: str  # the variable every function reads its name from
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    indexes: tuple[Index, ...] = ()
    stream: bool = False  # NEW_AND_OLD_IMAGES, for CDC consumers
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /api/v1/products/{product_id}
    handler: str  # dotted path of the Lambda handler
    auth: Auth = Auth.USER  # private unless marked public
    tables: tuple[tuple[Table, Access], ...] = ()
    user_pool_actions: tuple[str, ...] = ()  # cognito-idp actions on the user pool, e.g. AdminGetUser
    search: Access | None = None  # access to the OpenSearch domain (the function then runs in its VPC)
    images: Access | None = None  # access to the product-images bucket
    cache: bool = False  # reads the read-model cache (the function then runs in the VPC)
    checkout: tuple[str, ...] = ()  # on the checkout state machine: "start" (executions), "respond" (task tokens)
    payment_secrets: tuple[PaymentSecret, ...] = ()  # the payment secrets it reads
    cursors: bool = False  # paginates: signs and verifies list cursors (the cursor secret, shared/cursors.py)
    description: str = ""
    # Deployed only in stages whose payment provider is this one (the sandbox's pages); None: always.
    payment_provider: str | None = None

    def deployed_with(self, payment_provider: str) -> bool:
        return self.payment_provider is None or self.payment_provider == payment_provider

    @property
    def function_id(self) -> str:
        """CDK id of the route's function: functions.catalog.list_categories.handler -> CatalogListCategories."""
        parts = self.handler.split(".")[1:-1]
        return "".join(word.capitalize() for part in parts for word in part.split("_"))

    @property
    def verifies_tokens(self) -> bool:
        """The handler verifies a sent token itself (shared/tokens.py), so it gets the tokens layer."""
        return self.auth is Auth.OPTIONAL


@dataclass(frozen=True)
class StreamConsumer:
    id: str
    table: Table
    handler: str
    batch_size: int = 100
    max_batching_window_seconds: int = 1
    retry_attempts: int = 5
    tables: tuple[tuple[Table, Access], ...] = ()
    filter_event_names: tuple[str, ...] = ()  # e.g. ("INSERT", "MODIFY"); empty = all
    # Lambda event-filter patterns on the record (any may match), e.g. only product items:
    # {"dynamodb": {"Keys": {"sk": {"S": ["PRODUCT"]}}}}
    filter_patterns: tuple[dict, ...] = ()
    search: Access | None = None
    cache: bool = False
    checkout: tuple[str, ...] = ()
    payment_secrets: tuple[PaymentSecret, ...] = ()
    event_bus: bool = False  # publishes to the domain event bus (EVENT_BUS_NAME)


@dataclass(frozen=True)
class ScheduledJob:
    """A function run on a schedule: an EventBridge rule in AWS, a timer in the local stack."""

    id: str
    handler: str
    rate_minutes: int = 1  # EventBridge's finest rate
    local_interval_seconds: float = 2.0  # the local stack runs it this often ("every few seconds")
    tables: tuple[tuple[Table, Access], ...] = ()
    timeout_seconds: int = 60
    description: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    routes: tuple[Route, ...] = ()
    tables: tuple[Table, ...] = ()
    stream_consumers: tuple[StreamConsumer, ...] = field(default_factory=tuple)
    scheduled_jobs: tuple[ScheduledJob, ...] = field(default_factory=tuple)


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

# --- services ----------------------------------------------------------------------------------
IDENTITY = Service(
    name="identity",
    tables=(IDENTITY_TABLE,),
    routes=(
        Route(
            "POST",
            f"{API_PREFIX}/auth/register",
            "functions.identity.register.handler",
            auth=Auth.PUBLIC,
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=(
                "cognito-idp:AdminConfirmSignUp", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminDeleteUser",
            ),
            description="Create a customer or seller account.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/confirm",
            "functions.identity.confirm.handler",
            auth=Auth.PUBLIC,
            description="Confirm an account with the emailed code (stages without auto-confirmation).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/login",
            "functions.identity.login.handler",
            auth=Auth.PUBLIC,
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            description="Sign in with email and password; throttled per email + client address and per client address.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/refresh",
            "functions.identity.refresh.handler",
            auth=Auth.PUBLIC,
            description="A new access token from a refresh token.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/users/me",
            "functions.identity.get_me.handler",
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="The signed-in user's profile.",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/users/me",
            "functions.identity.update_me.handler",
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="Update name, phone and shipping addresses.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/users/{{user_id}}",
            "functions.identity.get_user.handler",
            tables=((IDENTITY_TABLE, Access.READ),),  # a read never writes (no profile made on the fly)
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="A user's profile: the user themself or an admin (anyone else: 404).",
        ),
    ),
)

PRODUCT_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["PRODUCT"]}}}}

CATALOG_STREAM_CONSUMERS = (
    StreamConsumer(
        id="SearchIndexer",
        table=CATALOG_TABLE,
        handler="functions.search.indexer.handler",
        batch_size=100,
        filter_patterns=(PRODUCT_RECORDS,),
        # a product indexed for the first time (or a SKU added) gets its SKUs' stock first
        # (functions.inventory.stock.stock_levels: one consistent BatchGetItem)
        tables=((INVENTORY_TABLE, Access.READ),),
        search=Access.WRITE,
    ),
    StreamConsumer(
        id="CatalogCacheInvalidator",
        table=CATALOG_TABLE,
        handler="functions.catalog.invalidate_cache.handler",
        batch_size=100,
        filter_patterns=(PRODUCT_RECORDS,),
        cache=True,
    ),
)

# A purchase claim removed from the orders table (the order was cancelled or refunded): the
# review standing on it stops counting (functions/catalog/withdraw_reviews.py).
PURCHASE_WITHDRAWALS = StreamConsumer(
    id="ReviewWithdrawals",
    table=ORDERS_TABLE,
    handler="functions.catalog.withdraw_reviews.handler",
    batch_size=25,
    filter_patterns=({"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "PURCHASE#"}]}}}},),
    tables=((CATALOG_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ)),
)

CATALOG = Service(
    name="catalog",
    tables=(CATALOG_TABLE,),
    stream_consumers=(*CATALOG_STREAM_CONSUMERS, PURCHASE_WITHDRAWALS),
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/categories",
            "functions.catalog.list_categories.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            description="The category tree.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/categories",
            "functions.catalog.create_category.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE),),
            description="Create a category (admin).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products",
            "functions.catalog.create_product.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE), (IDENTITY_TABLE, Access.READ_WRITE)),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="List a product with its SKUs (seller, admin).",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/products",
            "functions.catalog.list_products.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            cursors=True,
            description="Products of a category or a seller, newest first.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.get_product.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ), (INVENTORY_TABLE, Access.READ)),
            cache=True,
            description="The product page: product, seller, rating, per-SKU availability.",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.update_product.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE),),
            cache=True,  # drops the cached page at once (product_cache.forget); the stream is the guarantee
            description="Partial update, SKU prices included (owning seller, admin).",
        ),
        Route(
            "DELETE",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.delete_product.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE),),
            cache=True,  # drops the cached page at once (product_cache.forget); the stream is the guarantee
            description="Soft delete (owning seller, admin).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products/{{product_id}}/images",
            "functions.catalog.create_image_upload.handler",
            tables=((CATALOG_TABLE, Access.READ),),
            images=Access.WRITE,
            description="A presigned upload for a product image, and the CDN URL it will have (owning seller, admin).",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/products/{{product_id}}/reviews",
            "functions.catalog.list_reviews.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            cursors=True,
            description="A product's reviews, newest first.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products/{{product_id}}/reviews",
            "functions.catalog.create_review.handler",
            # the orders table answers "did this user buy it" (functions.orders.purchases)
            tables=((CATALOG_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ)),
            description="Review a product you bought (one per buyer); the rating aggregate moves in the same transaction.",
        ),
    ),
)

# The stock counters, and the projector's heartbeat (written by the hold sweeper) that keeps
# the availability cache's watermark fresh when no stock moves.
STOCK_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["STOCK", "HEARTBEAT", {"prefix": "STOCK#"}]}}}}
# Stock items and a hot SKU's other buckets (STOCK#nn, ADR 0022): any bucket's change moves the
# sum that search's `in_stock` shows.
SEARCH_STOCK_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["STOCK", {"prefix": "STOCK#"}]}}}}
# Holds deleted by DynamoDB's TTL process (not by our code): the backstop release path.
TTL_EXPIRED_HOLDS = {
    "eventName": ["REMOVE"],
    "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]},
    "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "HOLD#"}]}}},
}

INVENTORY = Service(
    name="inventory",
    tables=(INVENTORY_TABLE,),
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/inventory/{{sku_id}}",
            "functions.inventory.get_stock.handler",
            tables=((INVENTORY_TABLE, Access.READ), (CATALOG_TABLE, Access.READ)),
            description="A SKU's stock counters (owning seller, admin).",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/inventory/{{sku_id}}",
            "functions.inventory.put_stock.handler",
            tables=((INVENTORY_TABLE, Access.READ_WRITE), (CATALOG_TABLE, Access.READ)),
            description="Set a SKU's on-hand stock (never below what is reserved; owning seller, admin).",
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            id="AvailabilityProjector",
            table=INVENTORY_TABLE,
            handler="functions.inventory.project_availability.handler",
            batch_size=100,
            filter_patterns=(STOCK_RECORDS,),
            tables=((INVENTORY_TABLE, Access.READ),),  # a hot SKU's sum over its buckets (ADR 0022)
            cache=True,
            # Retry until the cache is back (or the record ages out of the stream, 24 h): a parked
            # batch would leave SKUs stale behind a fresh watermark, while a blocked shard stalls
            # the watermark, and the product page then reads the table: slower, never wrong.
            retry_attempts=-1,
        ),
        StreamConsumer(
            id="SearchStockSync",
            table=INVENTORY_TABLE,
            handler="functions.search.stock_sync.handler",
            batch_size=100,
            filter_patterns=(SEARCH_STOCK_RECORDS,),
            tables=((INVENTORY_TABLE, Access.READ),),  # a hot SKU's sum over its buckets (ADR 0022)
            search=Access.WRITE,
        ),
        StreamConsumer(
            id="ExpiredHoldReleaser",
            table=INVENTORY_TABLE,
            handler="functions.inventory.release_expired_holds.handler",
            batch_size=100,
            filter_patterns=(TTL_EXPIRED_HOLDS,),
            tables=((INVENTORY_TABLE, Access.READ_WRITE),),
        ),
    ),
    scheduled_jobs=(
        ScheduledJob(
            id="HoldSweeper",
            handler="functions.inventory.sweep_holds.handler",
            tables=((INVENTORY_TABLE, Access.READ_WRITE),),
            description="Release stock holds past their expiry; rebalance hot SKUs' stock buckets (ADR 0022); "
                        "heartbeat for the availability watermark.",
            # Locally every 5 s (AWS: three sweeps a minute): each run queries the 8 expiry-index
            # shards, which moto answers by walking the whole inventory table, and its heartbeat
            # wakes three stream mappings. At 2 s that was most of an idle stack's CPU; holds still
            # end within seconds (local TTL deletes due items every second, ADR 0029).
            local_interval_seconds=5.0,
        ),
    ),
)

_CART_TABLES = ((CART_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE), (CATALOG_TABLE, Access.READ))

CART = Service(
    name="cart",
    tables=(CART_TABLE,),
    routes=(
        Route("GET", f"{API_PREFIX}/cart", "functions.cart.get_cart.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="The cart: a guest's (X-Cart-Token) or the signed-in user's."),
        # cache: the admission gate (functions/inventory/gate.py) sheds sold-out SKUs there.
        Route("POST", f"{API_PREFIX}/cart/items", "functions.cart.add_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, cache=True,
              description="Add a SKU: reserves the stock first (409 OUT_OF_STOCK, cart unchanged)."),
        Route("PUT", f"{API_PREFIX}/cart/items/{{sku_id}}", "functions.cart.update_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Change a line's quantity; the hold moves by the difference."),
        Route("DELETE", f"{API_PREFIX}/cart/items/{{sku_id}}", "functions.cart.remove_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Remove a line and release its hold."),
        Route("DELETE", f"{API_PREFIX}/cart", "functions.cart.clear_cart.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Empty the cart and release every hold."),
    ),
)

SEARCH = Service(
    name="search",
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/search",
            "functions.search.search.handler",
            auth=Auth.PUBLIC,
            search=Access.READ,
            cursors=True,
            description="Full-text product search with filters, facets, sort and cursor pagination.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/search/suggest",
            "functions.search.suggest.handler",
            auth=Auth.PUBLIC,
            search=Access.READ,
            description="Autocomplete from the first letters.",
        ),
    ),
)

# Settling a cancelled order touches stock, payment and the waiting saga.
# (and the cart's checkout claim: functions/cart/checkout_claims.py).
_SETTLE_TABLES = (
    (ORDERS_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE), (PAYMENTS_TABLE, Access.READ_WRITE),
    (CART_TABLE, Access.READ_WRITE),
)
# An order shows its payment's status from the payment itself (one source of truth, ADR 0017).
_PAYMENT_READ = (PAYMENTS_TABLE, Access.READ)
ORDER_HEADERS = {"dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}}}

ORDERS = Service(
    name="orders",
    tables=(ORDERS_TABLE,),
    routes=(
        Route("POST", f"{API_PREFIX}/orders", "functions.orders.create_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE), _PAYMENT_READ), checkout=("start",),
              description="Check out the cart (Idempotency-Key): one saga execution per key."),
        Route("GET", f"{API_PREFIX}/orders", "functions.orders.list_orders.handler",
              tables=((ORDERS_TABLE, Access.READ), _PAYMENT_READ), cursors=True, description="The signed-in user's orders, newest first."),
        Route("GET", f"{API_PREFIX}/orders/{{order_id}}", "functions.orders.get_order.handler",
              tables=((ORDERS_TABLE, Access.READ), _PAYMENT_READ), description="An order with its status history (owner, admin)."),
        Route("PUT", f"{API_PREFIX}/orders/{{order_id}}/cancel", "functions.orders.cancel_order.handler",
              tables=_SETTLE_TABLES, checkout=("respond",), payment_secrets=(PaymentSecret.PROVIDER_API,),
              description="Cancel before shipping: stock back, refund if paid (owner, admin)."),
        Route("POST", f"{API_PREFIX}/orders/{{order_id}}/refunds", "functions.orders.refund_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE), (PAYMENTS_TABLE, Access.READ_WRITE)),
              payment_secrets=(PaymentSecret.PROVIDER_API,),
              description="Refund a paid order, whole or in part (Idempotency-Key; seller: own lines, admin: any)."),
        Route("GET", f"{API_PREFIX}/seller/orders", "functions.orders.list_seller_orders.handler",
              tables=((ORDERS_TABLE, Access.READ),), cursors=True, description="Confirmed orders containing the seller's items."),
        Route("PUT", f"{API_PREFIX}/seller/orders/{{order_id}}/ship", "functions.orders.ship_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE),),
              description="Ship the seller's part of an order ({carrier, tracking_number}); answers the seller's part only."),
        Route("PUT", f"{API_PREFIX}/seller/orders/{{order_id}}/deliver", "functions.orders.deliver_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE),),
              description="The seller's shipment arrived: SHIPPED -> DELIVERED once every seller's has."),
    ),
    stream_consumers=(
        StreamConsumer(
            id="OrderSettler",
            table=ORDERS_TABLE,
            handler="functions.orders.settle_orders.handler",
            batch_size=10,
            filter_patterns=({"dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}, "NewImage": {"status": {"S": ["CANCELLED", "FAILED"]}}}},),
            tables=_SETTLE_TABLES,
            checkout=("respond",),
            payment_secrets=(PaymentSecret.PROVIDER_API,),
        ),
        StreamConsumer(
            id="OrderEventsPublisher",
            table=ORDERS_TABLE,
            handler="functions.notifications.publish_order_events.handler",
            batch_size=100,
            filter_patterns=(ORDER_HEADERS,),
            event_bus=True,
        ),
    ),
)

PAYMENTS = Service(
    name="payments",
    tables=(PAYMENTS_TABLE,),
    routes=(
        Route("POST", f"{API_PREFIX}/payments", "functions.payments.create_payment.handler",
              tables=((PAYMENTS_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ)),
              description="The order's payment intent (order owner, Idempotency-Key)."),
        Route("GET", f"{API_PREFIX}/payments/{{payment_id}}", "functions.payments.get_payment.handler",
              tables=((PAYMENTS_TABLE, Access.READ),), description="A payment (order owner, admin)."),
        # One fixed URL per provider (what a provider's dashboard registers): the payment is found
        # from the verified event. A refund event writes the order (REFUNDED, refund amounts).
        Route("POST", f"{API_PREFIX}/payments/webhooks/{{provider}}", "functions.payments.webhook.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ_WRITE)),
              checkout=("respond",), payment_secrets=(PaymentSecret.WEBHOOK, PaymentSecret.PROVIDER_API),
              description="The payment provider's signed event (Standard Webhooks / Stripe-Signature)."),
        Route("GET", f"{API_PREFIX}/sandbox/payments/{{payment_id}}", "functions.payments.sandbox_page.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ),), payment_provider="sandbox",
              description="The sandbox provider's payment page (sandbox stages only)."),
        Route("POST", f"{API_PREFIX}/sandbox/payments/{{payment_id}}", "functions.payments.sandbox_pay.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ),), payment_secrets=(PaymentSecret.WEBHOOK,),
              payment_provider="sandbox", description="Pay or decline in the sandbox (sandbox stages only): it sends its signed webhook."),
    ),
)

NOTIFICATIONS = Service(name="notifications", tables=(NOTIFICATIONS_TABLE,))

SERVICES: tuple[Service, ...] = (IDENTITY, CATALOG, INVENTORY, CART, SEARCH, ORDERS, PAYMENTS, NOTIFICATIONS)


def all_routes() -> list[Route]:
    return [route for service in SERVICES for route in service.routes]


def all_tables() -> list[Table]:
    return [table for service in SERVICES for table in service.tables]


def all_stream_consumers() -> list[StreamConsumer]:
    return [consumer for service in SERVICES for consumer in service.stream_consumers]


def all_scheduled_jobs() -> list[ScheduledJob]:
    return [job for service in SERVICES for job in service.scheduled_jobs]
