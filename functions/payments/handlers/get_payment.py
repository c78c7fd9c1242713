"""GET /api/v1/payments/{payment_id}: the order owner's (admin: any) payment."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.payments import store
from functions.payments.views import payment_view
from shared.errors import NotFound
from shared.http import create_app, ok
from shared.observability import logger

app = create_app(roles=())


@app.get("/api/v1/payments/<payment_id>")
def get_payment(payment_id: str):
    principal = app.principal
    payment = store.get(payment_id)
    if payment is None or (payment.user_id != principal.user_id and not principal.is_admin):
        raise NotFound("No such payment.")
    return ok(app, payment_view(payment, app.current_event.raw_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
