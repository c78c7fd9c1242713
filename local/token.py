"""`python -m local.token [EMAIL]`: print an access token from the running local stack's Cognito.

    TOKEN=$(.venv/bin/python -m local.token admin@example.com)
    curl -H "Authorization: Bearer $TOKEN" -d '{"name":"Garden"}' http://127.0.0.1:3000/api/v1/categories
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STATE_FILE = Path(__file__).resolve().parents[1] / ".build" / "local-stack.json"


def main(argv: list[str]) -> int:
    import boto3

    if not STATE_FILE.exists():
        print("error: no local stack is running (start it with `make run`)", file=sys.stderr)
        return 2
    state = json.loads(STATE_FILE.read_text())
    email = argv[0] if argv else "admin@example.com"
    password = os.environ.get("DEMO_PASSWORD", state["demo_password_default"])
    idp = boto3.client("cognito-idp", endpoint_url=state["moto"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    result = idp.initiate_auth(ClientId=state["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": email, "PASSWORD": password})
    print(result["AuthenticationResult"]["AccessToken"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
