"""The catalog service's slice of the topology: categories and products, their routes, the product cache's invalidator. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, Route, Service, StreamConsumer
from infra.tables import CATALOG_TABLE, IDENTITY_TABLE, INVENTORY_TABLE

# Product items only (the catalog stream also carries categories, SKUs and reviews).
PRODUCT_RECORDS = {"dynamodb": {"Keys": {"sk": {"S": ["PRODUCT"]}}}}

SERVICE = Service(
    name="catalog",
    tables=(CATALOG_TABLE,),
    stream_consumers=(
    StreamConsumer(
        id="CatalogCacheInvalidator",
        table=CATALOG_TABLE,
        handler="functions.catalog.consumers.invalidate_cache.handler",
        batch_size=100,
        filter_patterns=(PRODUCT_RECORDS,),
        cache=True,
    ),
    ),
    calls=("identity", "inventory"),
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/categories",
            "functions.catalog.handlers.list_categories.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            description="The category tree.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/categories",
            "functions.catalog.handlers.create_category.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE),),
            description="Create a category (admin).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products",
            "functions.catalog.handlers.create_product.handler",
            # the SKUs' owner records, through inventory.api (ADR 0040)
            tables=((CATALOG_TABLE, Access.READ_WRITE), (IDENTITY_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE)),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="List a product with its SKUs (seller, admin).",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/products",
            "functions.catalog.handlers.list_products.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            cursors=True,
            description="Products of a category or a seller, newest first.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.handlers.get_product.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ), (INVENTORY_TABLE, Access.READ)),
            cache=True,
            description="The product page: product, seller, rating, per-SKU availability.",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.handlers.update_product.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE)),  # new SKUs' owner records
            cache=True,  # drops the cached page at once (product_cache.forget); the stream is the guarantee
            description="Partial update, SKU prices included (owning seller, admin).",
        ),
        Route(
            "DELETE",
            f"{API_PREFIX}/products/{{product_id}}",
            "functions.catalog.handlers.delete_product.handler",
            tables=((CATALOG_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE)),  # retires the SKUs' owner records
            cache=True,  # drops the cached page at once (product_cache.forget); the stream is the guarantee
            description="Soft delete (owning seller, admin).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products/{{product_id}}/images",
            "functions.catalog.handlers.create_image_upload.handler",
            tables=((CATALOG_TABLE, Access.READ),),
            images=Access.WRITE,
            description="A presigned upload for a product image, and the CDN URL it will have (owning seller, admin).",
        ),
    ),
)

