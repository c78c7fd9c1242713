"""Login throttling over HTTP, from distinct client addresses (ADR 0020).

Each test connects from loopback addresses of its own (tests/support/addresses.py), which the
local gateway puts into requestContext.identity.sourceIp as API Gateway does with the TCP peer.
"""

from __future__ import annotations

import uuid

from tests.support.addresses import session_from

PASSWORD = "Str0ng-Passw0rd!"
WRONG = "Wrong-Passw0rd!"


def _email(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@example.com"


def _login(local_stack, session, email: str, password: str, headers: dict[str, str] | None = None):
    return session.post(f"{local_stack.url}/api/v1/auth/login", json={"email": email, "password": password},
                        headers=headers or {}, timeout=30)


def _register(local_stack, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "name": "Throttle Tester"}
    response = session_from("127.0.0.1").post(f"{local_stack.url}/api/v1/auth/register", json=body, timeout=30)
    assert response.status_code == 201, response.text


def test_failures_from_another_client_never_lock_the_owner_out(local_stack):
    # GIVEN an account, and an attacker at 127.0.0.21 who fails to sign in to it until locked out
    email = _email("owner")
    _register(local_stack, email)
    attacker, owner = session_from("127.0.0.21"), session_from("127.0.0.22")
    assert [_login(local_stack, attacker, email, WRONG).status_code for _ in range(5)] == [401] * 5
    locked = _login(local_stack, attacker, email, WRONG)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "RATE_LIMITED"
    # THEN the attacker gains nothing by guessing right, nor by claiming another address in a header
    assert _login(local_stack, attacker, email, PASSWORD).status_code == 429
    assert _login(local_stack, attacker, email, PASSWORD, {"X-Forwarded-For": "127.0.0.22"}).status_code == 429
    # AND the owner, on their own device, signs in at once
    signed_in = _login(local_stack, owner, email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["data"]["access_token"]


def test_one_address_failing_over_many_emails_is_locked_for_every_email(local_stack):
    from functions.identity import throttle

    # GIVEN an account, and an address that sprays one guess at each of many emails
    victim = _email("sprayed")
    _register(local_stack, victim)
    sprayer, elsewhere = session_from("127.0.0.23"), session_from("127.0.0.24")
    limit = throttle.address_limit()
    statuses = [_login(local_stack, sprayer, _email(f"spray{i}"), WRONG).status_code for i in range(limit)]
    # THEN each guess is a plain 401 until the address's limit, then the address is locked for
    # every email, even with the right password of a real account
    assert statuses == [401] * limit
    assert _login(local_stack, sprayer, victim, PASSWORD).status_code == 429
    # AND the account's owner, from another address, is unaffected
    assert _login(local_stack, elsewhere, victim, PASSWORD).status_code == 200
