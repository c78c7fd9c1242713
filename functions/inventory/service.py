"""The inventory service's slice of the topology: stock, holds, the availability read model and the hold sweeper. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Route, ScheduledJob, Service, StreamConsumer
from infra.tables import INVENTORY_TABLE

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

SERVICE = Service(
    name="inventory",
    tables=(INVENTORY_TABLE,),
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/inventory/{{sku_id}}",
            "functions.inventory.handlers.get_stock.handler",
            tables=((INVENTORY_TABLE, Access.READ),),  # the owner from the SKU's own items (ADR 0040)
            description="A SKU's stock counters (owning seller, admin).",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/inventory/{{sku_id}}",
            "functions.inventory.handlers.put_stock.handler",
            tables=((INVENTORY_TABLE, Access.READ_WRITE),),
            description="Set a SKU's on-hand stock (never below what is reserved; owning seller, admin).",
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            id="AvailabilityProjector",
            table=INVENTORY_TABLE,
            handler="functions.inventory.consumers.project_availability.handler",
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
            id="ExpiredHoldReleaser",
            table=INVENTORY_TABLE,
            handler="functions.inventory.consumers.release_expired_holds.handler",
            batch_size=100,
            filter_patterns=(TTL_EXPIRED_HOLDS,),
            tables=((INVENTORY_TABLE, Access.READ_WRITE),),
        ),
    ),
    scheduled_jobs=(
        ScheduledJob(
            id="HoldSweeper",
            handler="functions.inventory.consumers.sweep_holds.handler",
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

