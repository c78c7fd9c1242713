"""POST /api/v1/sandbox/payments/{payment_id} {"outcome": "succeeded" | "failed"} (JSON or the
page's form): the sandbox sends its Standard Webhooks-signed event to this API's webhook, exactly
as a real provider's servers would, and says how the delivery went."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from aws_lambda_powertools.logging import correlation_paths

from functions.payments.handlers.sandbox_page import sandbox_payment
from shared.errors import ValidationError
from shared.http import create_app, ok, public_url
from shared.observability import logger

app = create_app()
DELIVERY_ATTEMPTS = 3


@app.post("/api/v1/sandbox/payments/<payment_id>")
def pay(payment_id: str):
    from functions.payments.providers.sandbox import sandbox_event

    payment = sandbox_payment(payment_id)
    outcome = _outcome(app.current_event.body or "")
    body, headers = sandbox_event(payment.payment_id, outcome, payment.amount, payment.currency)
    url = public_url("/api/v1/payments/webhooks/sandbox")  # the stage's own URL, never the caller's Host
    status = _deliver(url, body, headers)
    return ok(app, {"payment_id": payment.payment_id, "outcome": outcome, "webhook_id": headers["webhook-id"],
                    "delivered": 200 <= status < 300, "webhook_status": status})


def _outcome(body: str) -> str:
    """From JSON ({"outcome": ...}) or the page's form (outcome=...): the shared resolver labels
    form posts as JSON (curl's default type), so the body itself says which it is."""
    try:
        parsed = json.loads(body or "{}")
        outcome = parsed.get("outcome") if isinstance(parsed, dict) else None
    except ValueError:
        outcome = urllib.parse.parse_qs(body).get("outcome", [None])[0]
    if outcome not in ("succeeded", "failed"):
        raise ValidationError('outcome must be "succeeded" or "failed".',
                              {"fields": [{"field": "body.outcome", "message": "succeeded | failed", "type": "enum"}]})
    return outcome


def _deliver(url: str, body: str, headers: dict[str, str]) -> int:
    """POST the signed event like a provider: retried on network errors and 5xx."""
    status = 0
    for attempt in range(DELIVERY_ATTEMPTS):
        request = urllib.request.Request(url, data=body.encode(), method="POST",
                                         headers={**headers, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own API
                return response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            if exc.code < 500:
                return status
        except OSError as exc:
            logger.warning("sandbox webhook delivery failed", extra={"attempt": attempt + 1, "error": str(exc)})
        time.sleep(0.2 * (attempt + 1))
    return status


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    return app.resolve(event, context)
