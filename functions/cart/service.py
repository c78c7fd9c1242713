"""The cart service's slice of the topology: a guest's or user's cart, each line backed by a stock hold. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, Route, Service
from infra.tables import CART_TABLE, CATALOG_TABLE, INVENTORY_TABLE

_CART_TABLES = ((CART_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE), (CATALOG_TABLE, Access.READ))

SERVICE = Service(
    name="cart",
    tables=(CART_TABLE,),
    routes=(
        Route("GET", f"{API_PREFIX}/cart", "functions.cart.handlers.get_cart.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="The cart: a guest's (X-Cart-Token) or the signed-in user's."),
        # No cache (ADR 0049): it verifies shoppers' tokens with Cognito's JWKS, a public HTTPS
        # host that the VPC's isolated subnets cannot reach, so it stays out of the VPC; the
        # admission gate (functions/inventory/gate.py) finds no CACHE_URL and lets every request
        # through to DynamoDB, as it does with the cache down.
        Route("POST", f"{API_PREFIX}/cart/items", "functions.cart.handlers.add_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES,
              description="Add a SKU: reserves the stock first (409 OUT_OF_STOCK, cart unchanged)."),
        Route("PUT", f"{API_PREFIX}/cart/items/{{sku_id}}", "functions.cart.handlers.update_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Change a line's quantity; the hold moves by the difference."),
        Route("DELETE", f"{API_PREFIX}/cart/items/{{sku_id}}", "functions.cart.handlers.remove_item.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Remove a line and release its hold."),
        Route("DELETE", f"{API_PREFIX}/cart", "functions.cart.handlers.clear_cart.handler", auth=Auth.OPTIONAL,
              tables=_CART_TABLES, description="Empty the cart and release every hold."),
    ),
    calls=("catalog", "inventory"),
)

