"""The search service's slice of the topology: the product index, its two stream writers and the public search. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, Route, Service, StreamConsumer
from infra.tables import CATALOG_TABLE, INVENTORY_TABLE

PRODUCT_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["PRODUCT"]}}}}
# Stock items and a hot SKU's other buckets (STOCK#nn, ADR 0022): any bucket's change moves the
# sum that search's `in_stock` shows.
SEARCH_STOCK_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["STOCK", {"prefix": "STOCK#"}]}}}}

SERVICE = Service(
    name="search",
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/search",
            "functions.search.handlers.search.handler",
            auth=Auth.PUBLIC,
            search=Access.READ,
            cursors=True,
            description="Full-text product search with filters, facets, sort and cursor pagination.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/search/suggest",
            "functions.search.handlers.suggest.handler",
            auth=Auth.PUBLIC,
            search=Access.READ,
            description="Autocomplete from the first letters.",
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            id="SearchIndexer",
            table=CATALOG_TABLE,
            handler="functions.search.consumers.indexer.handler",
            batch_size=100,
            filter_patterns=(PRODUCT_RECORDS,),
            # a product indexed for the first time (or a SKU added) gets its SKUs' stock first
            # (inventory.api.stock_levels: one consistent BatchGetItem)
            tables=((INVENTORY_TABLE, Access.READ),),
            search=Access.WRITE,
        ),
        StreamConsumer(
            id="SearchStockSync",
            table=INVENTORY_TABLE,
            handler="functions.search.consumers.stock_sync.handler",
            batch_size=100,
            filter_patterns=(SEARCH_STOCK_RECORDS,),
            tables=((INVENTORY_TABLE, Access.READ),),  # a hot SKU's sum over its buckets (ADR 0022)
            search=Access.WRITE,
        ),
    ),
    calls=("inventory",),
)

