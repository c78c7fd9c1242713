"""The vocabulary of the system's shape: what a route, a table, a stream consumer and a scheduled
job are. Each service's `functions/<service>/service.py` describes its slice with these types,
`infra/tables.py` defines the tables, and `infra/topology.py` collects the slices into one list.
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
        """CDK id of the route's function: functions.catalog.handlers.list_categories.handler -> CatalogListCategories."""
        return function_id(self.handler)

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
    # The services whose `api` module this one calls (tests/test_architecture.py checks that the
    # imports say the same); the layers of .importlinter run downward along these.
    calls: tuple[str, ...] = ()


def function_id(handler: str) -> str:
    """CDK id of a handler's function: the service and the module, without the `handlers` /
    `consumers` folder (functions.cart.handlers.add_item.handler -> CartAddItem)."""
    parts = [part for part in handler.split(".")[1:-1] if part not in ("handlers", "consumers")]
    return "".join(word.capitalize() for part in parts for word in part.split("_"))


def service_of(handler: str) -> str:
    """The service a handler belongs to: its folder under functions/."""
    return handler.split(".")[1]
