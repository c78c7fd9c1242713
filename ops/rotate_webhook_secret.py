"""Rotate the payment webhook secret without rejecting a single webhook.

    python -m ops.rotate_webhook_secret --secret-id <PAYMENT_WEBHOOK_SECRET_ARN> [--new whsec_...]

The secret holds {"current", "previous"}; webhooks signed by either verify
(functions/payments/signatures.py). This moves current -> previous and sets a new current
(generated for the sandbox, or the one the provider issued). Tell the provider the new secret,
wait out the handlers' 5-minute secret cache, then run with --drop-previous to end the overlap.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
from typing import Any


def rotate(client: Any, secret_id: str, new: str | None = None) -> dict[str, str]:
    value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    rotated = {"current": new or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(), "previous": value.get("current", "")}
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(rotated))
    return rotated


def drop_previous(client: Any, secret_id: str) -> dict[str, str]:
    value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    ended = {"current": value["current"], "previous": ""}
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(ended))
    return ended


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--new", help="the new secret (default: generate one)")
    parser.add_argument("--drop-previous", action="store_true", help="end the overlap: only the current secret verifies")
    args = parser.parse_args()
    client = boto3.client("secretsmanager")
    result = drop_previous(client, args.secret_id) if args.drop_previous else rotate(client, args.secret_id, args.new)
    print(json.dumps({"rotated": True, "previous_kept": bool(result["previous"])}))


if __name__ == "__main__":
    main()
