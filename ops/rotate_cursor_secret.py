"""Rotate the key that signs list cursors without invalidating a cursor a client holds.

    python -m ops.rotate_cursor_secret --secret-id <CURSOR_SECRET_ARN> [--drop-previous]

The secret holds {"current", "previous"}; cursors signed by either verify (shared/cursors.py).
This moves current -> previous and sets a new random current. Wait out the handlers' 5-minute key
cache plus as long as clients keep a cursor (minutes: a page someone is reading), then run with
--drop-previous to end the overlap.
"""

from __future__ import annotations

import argparse
import json
import secrets

from ops.rotate_webhook_secret import drop_previous, rotate


def new_key() -> str:
    return secrets.token_urlsafe(48)


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--drop-previous", action="store_true", help="end the overlap: only the current key verifies")
    args = parser.parse_args()
    client = boto3.client("secretsmanager")
    result = drop_previous(client, args.secret_id) if args.drop_previous else rotate(client, args.secret_id, new_key())
    print(json.dumps({"rotated": True, "previous_kept": bool(result["previous"])}))


if __name__ == "__main__":
    main()
