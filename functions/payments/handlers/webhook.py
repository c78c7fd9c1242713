"""POST /api/v1/payments/webhooks/{provider}: the payment provider's signed event, at the one fixed
URL a provider's dashboard registers (docs/decisions/0018-webhook-routing.md).

The signature is verified before anything in the body is read; then the payment is found from the
event itself (our metadata's payment id, else the provider's reference). Only the stage's own
provider has a webhook (another name: 404). 400 and no change for a bad or stale signature, an
unreadable event or an unknown payment; 2xx once accepted, also for a duplicate (the provider
then stops retrying). Only final events act.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.logging import correlation_paths

from functions.payments import flow
from functions.payments.events import MalformedEvent
from functions.payments.providers import provider as adapter
from functions.payments.signatures import InvalidSignature
from shared.errors import NotFound, ValidationError
from shared.http import create_app, ok
from shared.observability import logger

app = create_app()


class InvalidWebhook(ValidationError):
    code = "INVALID_WEBHOOK"


@app.post("/api/v1/payments/webhooks/<provider>")
def webhook(provider: str):
    provider_name = provider
    if provider_name != (os.environ.get("PAYMENT_PROVIDER") or "sandbox"):
        raise NotFound("No webhook for that provider here.")
    event = app.current_event
    try:
        parsed = adapter(provider_name).parse_webhook(event.body or "", dict(event.headers or {}))
        outcome = flow.handle_event(provider_name, parsed)
    except InvalidSignature as exc:
        logger.warning("webhook signature rejected", extra={"provider": provider_name, "reason": str(exc)})
        raise InvalidWebhook("The webhook signature is invalid or stale.") from None
    except (MalformedEvent, flow.UnknownPayment, flow.EventMismatch) as exc:
        logger.warning("webhook rejected", extra={"provider": provider_name, "reason": str(exc)})
        raise InvalidWebhook(str(exc)) from None
    logger.info("webhook accepted", extra={"provider": provider_name, "event_id": parsed.event_id, "outcome": outcome})
    return ok(app, {"received": True, "event_id": parsed.event_id, "outcome": outcome})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
