"""The reviews service's slice of the topology: a buyer's review of a product, and its withdrawal when the purchase goes. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, Route, Service, StreamConsumer
from infra.tables import CATALOG_TABLE, ORDERS_TABLE

# A purchase claim removed from the orders table (the order was cancelled or refunded): the
# review standing on it stops counting (functions/reviews/consumers/withdraw_reviews.py).
PURCHASE_WITHDRAWALS = StreamConsumer(
    id="ReviewWithdrawals",
    table=ORDERS_TABLE,
    handler="functions.reviews.consumers.withdraw_reviews.handler",
    batch_size=25,
    filter_patterns=({"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "PURCHASE#"}]}}}},),
    tables=((CATALOG_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ)),
)

SERVICE = Service(
    name="reviews",
    # Reviews and the rating aggregate are kept by the catalog (one transaction with the product's
    # rating); this service decides who may review (orders' purchases) and when a review stops counting.
    routes=(
        Route(
            "GET",
            f"{API_PREFIX}/products/{{product_id}}/reviews",
            "functions.reviews.handlers.list_reviews.handler",
            auth=Auth.PUBLIC,
            tables=((CATALOG_TABLE, Access.READ),),
            cursors=True,
            description="A product's reviews, newest first.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/products/{{product_id}}/reviews",
            "functions.reviews.handlers.create_review.handler",
            # the orders table answers "did this user buy it" (functions.orders.purchases)
            tables=((CATALOG_TABLE, Access.READ_WRITE), (ORDERS_TABLE, Access.READ)),
            description="Review a product you bought (one per buyer); the rating aggregate moves in the same transaction.",
        ),
    ),
    stream_consumers=(PURCHASE_WITHDRAWALS,),
    calls=("catalog", "orders"),
)
