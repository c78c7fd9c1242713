"""The payments service's slice of the topology: payment intents, the provider's webhook, refunds, the sandbox's pages. infra/topology.py collects it.

Payments sits below orders and calls no other service: its functions reach only the payments
table. What a payment's change means for an order travels on the payments table's stream to the
orders service (functions/orders/service.py OrderPaymentSettler; docs/decisions/0039-payments-below-orders.md).
"""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, PaymentSecret, Route, Service
from infra.tables import PAYMENTS_TABLE

SERVICE = Service(
    name="payments",
    tables=(PAYMENTS_TABLE,),
    routes=(
        Route("GET", f"{API_PREFIX}/payments/{{payment_id}}", "functions.payments.handlers.get_payment.handler",
              tables=((PAYMENTS_TABLE, Access.READ),), description="A payment (order owner, admin)."),
        # One fixed URL per provider (what a provider's dashboard registers): the payment is found
        # from the verified event. It resumes the waiting checkout, or refunds money that arrived
        # for an order that had cancelled its payment (the provider's API key); the order follows
        # from the payments stream.
        Route("POST", f"{API_PREFIX}/payments/webhooks/{{provider}}", "functions.payments.handlers.webhook.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ_WRITE),),
              checkout=("respond",), payment_secrets=(PaymentSecret.WEBHOOK, PaymentSecret.PROVIDER_API),
              description="The payment provider's signed event (Standard Webhooks / Stripe-Signature)."),
        Route("GET", f"{API_PREFIX}/sandbox/payments/{{payment_id}}", "functions.payments.handlers.sandbox_page.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ),), payment_provider="sandbox",
              description="The sandbox provider's payment page (sandbox stages only)."),
        Route("POST", f"{API_PREFIX}/sandbox/payments/{{payment_id}}", "functions.payments.handlers.sandbox_pay.handler",
              auth=Auth.PUBLIC, tables=((PAYMENTS_TABLE, Access.READ),), payment_secrets=(PaymentSecret.WEBHOOK,),
              payment_provider="sandbox", description="Pay or decline in the sandbox (sandbox stages only): it sends its signed webhook."),
    ),
    calls=(),
)
