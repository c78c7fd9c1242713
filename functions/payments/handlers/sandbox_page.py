"""GET /api/v1/sandbox/payments/{payment_id}: the sandbox provider's payment page (its form posts
to functions/payments/handlers/sandbox_pay.py). Only on stages whose PAYMENT_PROVIDER is sandbox.

Anyone with the link may pay, as on a real provider's hosted page (the link is unguessable: it
names a ULID payment id, and only the order's owner is ever shown it)."""

from __future__ import annotations

import html
import os

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from functions.payments import store
from shared.errors import NotFound
from shared.http import create_app
from shared.observability import logger

app = create_app()


def sandbox_payment(payment_id: str) -> store.Payment:
    if (os.environ.get("PAYMENT_PROVIDER") or "sandbox") != "sandbox":
        raise NotFound("No such resource.")
    payment = store.get(payment_id)
    if payment is None or payment.provider != "sandbox":
        raise NotFound("No such payment.")
    return payment


@app.get("/api/v1/sandbox/payments/<payment_id>")
def show_page(payment_id: str):
    payment = sandbox_payment(payment_id)
    amount = f"{payment.currency} {payment.amount / 100:.2f}"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Sandbox payment</title></head>
<body><h1>Sandbox payment</h1><p>Order {html.escape(payment.order_id)}: <strong>{html.escape(amount)}</strong>
({html.escape(payment.status)})</p>
<form method="post"><button name="outcome" value="succeeded">Pay</button>
<button name="outcome" value="failed">Decline</button></form></body></html>"""
    return Response(200, "text/html; charset=utf-8", page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
