"""The orders service's slice of the topology: orders, checkout (the saga, infra/checkout.py) and settlement. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, PaymentSecret, Route, Service, StreamConsumer
from infra.tables import CART_TABLE, INVENTORY_TABLE, ORDERS_TABLE, PAYMENTS_TABLE

# Settling a cancelled order touches stock, payment and the waiting saga.
# (and the cart's checkout claim: functions/cart/checkout_claims.py).
_SETTLE_TABLES = (
    (ORDERS_TABLE, Access.READ_WRITE), (INVENTORY_TABLE, Access.READ_WRITE), (PAYMENTS_TABLE, Access.READ_WRITE),
    (CART_TABLE, Access.READ_WRITE),
)
# An order shows its payment's status from the payment itself (one source of truth, ADR 0017).
_PAYMENT_READ = (PAYMENTS_TABLE, Access.READ)
ORDER_HEADERS = {"dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}}}
# The payments stream's payment items that may concern the order: money arrived, or a refund
# (functions/payments/api.py payment_change decodes them; ADR 0039).
PAYMENT_OUTCOMES = {"dynamodb": {"Keys": {"sk": {"S": ["PAYMENT"]}}, "NewImage": {"status": {"S": ["succeeded", "refunded"]}}}}

SERVICE = Service(
    name="orders",
    tables=(ORDERS_TABLE,),
    routes=(
        Route("POST", f"{API_PREFIX}/orders", "functions.orders.handlers.create_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE), _PAYMENT_READ), checkout=("start",),
              description="Check out the cart (Idempotency-Key): one saga execution per key."),
        # The order's payment (the orders service's route: the order decides who may ask and why
        # there is none yet; the payment comes through payments' api; the idempotency record is ours).
        Route("POST", f"{API_PREFIX}/payments", "functions.orders.handlers.create_payment.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE), _PAYMENT_READ),
              description="The order's payment intent (order owner, Idempotency-Key)."),
        Route("GET", f"{API_PREFIX}/orders", "functions.orders.handlers.list_orders.handler",
              tables=((ORDERS_TABLE, Access.READ), _PAYMENT_READ), cursors=True, description="The signed-in user's orders, newest first."),
        Route("GET", f"{API_PREFIX}/orders/{{order_id}}", "functions.orders.handlers.get_order.handler",
              tables=((ORDERS_TABLE, Access.READ), _PAYMENT_READ), description="An order with its status history (owner, admin)."),
        Route("PUT", f"{API_PREFIX}/orders/{{order_id}}/cancel", "functions.orders.handlers.cancel_order.handler",
              tables=_SETTLE_TABLES, checkout=("respond",), payment_secrets=(PaymentSecret.PROVIDER_API,),
              description="Cancel before shipping: stock back, refund if paid (owner, admin)."),
        Route("POST", f"{API_PREFIX}/orders/{{order_id}}/refunds", "functions.orders.handlers.refund_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE), (PAYMENTS_TABLE, Access.READ_WRITE)),
              payment_secrets=(PaymentSecret.PROVIDER_API,),
              description="Refund a paid order, whole or in part (Idempotency-Key; seller: own lines, admin: any)."),
        Route("GET", f"{API_PREFIX}/seller/orders", "functions.orders.handlers.list_seller_orders.handler",
              tables=((ORDERS_TABLE, Access.READ),), cursors=True, description="Confirmed orders containing the seller's items."),
        Route("PUT", f"{API_PREFIX}/seller/orders/{{order_id}}/ship", "functions.orders.handlers.ship_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE),),
              description="Ship the seller's part of an order ({carrier, tracking_number}); answers the seller's part only."),
        Route("PUT", f"{API_PREFIX}/seller/orders/{{order_id}}/deliver", "functions.orders.handlers.deliver_order.handler",
              tables=((ORDERS_TABLE, Access.READ_WRITE),),
              description="The seller's shipment arrived: SHIPPED -> DELIVERED once every seller's has."),
    ),
    stream_consumers=(
        StreamConsumer(
            id="OrderSettler",
            table=ORDERS_TABLE,
            handler="functions.orders.consumers.settle_orders.handler",
            batch_size=10,
            filter_patterns=({"dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}, "NewImage": {"status": {"S": ["CANCELLED", "FAILED"]}}}},),
            tables=_SETTLE_TABLES,
            checkout=("respond",),
            payment_secrets=(PaymentSecret.PROVIDER_API,),
        ),
        # Payments sits below orders and never writes the orders table: a payment's refunds, and
        # money that arrived for an order that is gone, reach the order from the payments stream.
        StreamConsumer(
            id="OrderPaymentSettler",
            table=PAYMENTS_TABLE,
            handler="functions.orders.consumers.settle_payments.handler",
            batch_size=10,
            filter_patterns=(PAYMENT_OUTCOMES,),
            tables=((ORDERS_TABLE, Access.READ_WRITE), (PAYMENTS_TABLE, Access.READ_WRITE)),
            payment_secrets=(PaymentSecret.PROVIDER_API,),  # refunding late money
        ),
    ),
    calls=("cart", "catalog", "inventory", "payments"),
)

