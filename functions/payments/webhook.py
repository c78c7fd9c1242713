"""POST /api/v1/payments/{payment_id}/webhook: the payment provider's signed event.

400 and no change for a bad or stale signature, an unreadable event or an unknown payment; 2xx
once accepted, also for a duplicate (the provider then stops retrying). Only final events act.
"""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths

from functions.payments import flow
from functions.payments.events import MalformedEvent
from functions.payments.providers import provider
from functions.payments.signatures import InvalidSignature
from shared.errors import ValidationError
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


class InvalidWebhook(ValidationError):
    code = "INVALID_WEBHOOK"


@app.post("/api/v1/payments/<payment_id>/webhook")
def webhook(payment_id: str):
    event = app.current_event
    try:
        parsed = provider().parse_webhook(event.body or "", dict(event.headers or {}))
        outcome = flow.handle_event(payment_id, parsed)
    except InvalidSignature as exc:
        logger.warning("webhook signature rejected", extra={"payment_id": payment_id, "reason": str(exc)})
        raise InvalidWebhook("The webhook signature is invalid or stale.") from None
    except (MalformedEvent, flow.UnknownPayment, flow.EventMismatch) as exc:
        logger.warning("webhook rejected", extra={"payment_id": payment_id, "reason": str(exc)})
        raise InvalidWebhook(str(exc)) from None
    logger.info("webhook accepted", extra={"payment_id": payment_id, "event_id": parsed.event_id, "outcome": outcome})
    return ok(app, {"received": True, "event_id": parsed.event_id, "outcome": outcome})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
