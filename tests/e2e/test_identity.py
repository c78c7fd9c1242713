"""Identity over HTTP: register, login, refresh, profiles, login throttling."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.conftest import Api

PASSWORD = "Str0ng-Passw0rd!"


def _email(tag: str = "user") -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@example.com"


def _register(api: Api, email: str, role: str | None = None, password: str = PASSWORD, name: str = "Pat Shopper"):
    body = {"email": email, "password": password, "name": name}
    if role:
        body["role"] = role
    return api.post("/api/v1/auth/register", json=body)


def _login(api: Api, email: str, password: str = PASSWORD):
    return api.post("/api/v1/auth/login", json={"email": email, "password": password})


def _signed_in(local_stack, email: str, password: str = PASSWORD) -> Api:
    response = _login(Api(local_stack.url), email, password)
    assert response.status_code == 200, response.text
    return Api(local_stack.url, response.json()["data"]["access_token"])


@pytest.mark.parametrize("role", ["customer", "seller"])
def test_register_login_and_read_my_profile(local_stack, anonymous, role):
    email = _email(role)
    # WHEN someone registers and signs in
    registered = _register(anonymous, email.upper(), role=role)
    assert registered.status_code == 201, registered.text
    data = registered.json()["data"]
    assert data["email"] == email and data["roles"] == [role] and data["user_id"]
    login = _login(anonymous, email)
    assert login.status_code == 200
    tokens = login.json()["data"]
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0 and tokens["refresh_token"]
    # THEN /users/me shows them with their role
    me = Api(local_stack.url, tokens["access_token"]).get("/api/v1/users/me")
    assert me.status_code == 200
    profile = me.json()["data"]
    assert (profile["user_id"], profile["email"], profile["name"], profile["roles"]) == (data["user_id"], email, "Pat Shopper", [role])


def test_customer_is_the_default_role_and_admin_cannot_self_register(anonymous):
    assert _register(anonymous, _email()).json()["data"]["roles"] == ["customer"]
    response = _register(anonymous, _email(), role="admin")
    assert response.status_code == 400
    assert "body.role" in [f["field"] for f in response.json()["error"]["details"]["fields"]]


def test_duplicate_email_is_409_email_taken_whatever_the_case(anonymous):
    email = _email()
    assert _register(anonymous, email).status_code == 201
    again = _register(anonymous, email.replace("user", "USER"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize("body,field", [
    ({"email": "not-an-email", "password": PASSWORD, "name": "X"}, "body.email"),
    ({"email": "a@b", "password": PASSWORD, "name": "X"}, "body.email"),
    ({"email": "ok@example.com", "password": "short1!A", "name": "X"}, "body.password"),
    ({"email": "ok@example.com", "password": "alllowercase-123", "name": "X"}, "body.password"),
    ({"email": "ok@example.com", "password": "NoDigitsHere!!", "name": "X"}, "body.password"),
    ({"email": "ok@example.com", "password": PASSWORD, "name": ""}, "body.name"),
    ({"email": "ok@example.com", "password": PASSWORD}, "body.name"),
])
def test_bad_registration_is_400_with_field_details(anonymous, body, field):
    response = anonymous.post("/api/v1/auth/register", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in [f["field"] for f in error["details"]["fields"]]


def test_wrong_password_and_unknown_email_look_the_same(anonymous):
    email = _email()
    _register(anonymous, email)
    wrong = _login(anonymous, email, "Wrong-Passw0rd!")
    unknown = _login(anonymous, _email("nobody"), "Wrong-Passw0rd!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


def test_sixth_failed_login_in_a_minute_is_429_even_with_the_right_password(anonymous):
    email = _email()
    _register(anonymous, email)
    statuses = [_login(anonymous, email, "Wrong-Passw0rd!").status_code for _ in range(5)]
    assert statuses == [401] * 5
    sixth = _login(anonymous, email, "Wrong-Passw0rd!")
    assert sixth.status_code == 429 and sixth.json()["error"]["code"] == "RATE_LIMITED"
    assert sixth.json()["error"]["details"]["retry_after_seconds"] > 0
    # While locked, guessing right gains nothing...
    assert _login(anonymous, email).status_code == 429
    # ...and other accounts are not affected.
    other = _email()
    _register(anonymous, other)
    assert _login(anonymous, other).status_code == 200


def test_concurrent_failures_lock_once(local_stack, anonymous):
    email = _email()
    _register(anonymous, email)
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: _login(Api(local_stack.url), email, "Wrong-Passw0rd!").status_code, range(16)))
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 5
    from functions.identity.store import get_throttle
    from functions.identity.throttle import pair_key

    item = get_throttle(pair_key(email, "127.0.0.1"))
    assert item.lockouts == 1 and item.locked_until > 0 and item.expires_at > item.locked_until


def test_refresh_gives_a_working_access_token(local_stack, anonymous):
    email = _email()
    _register(anonymous, email)
    refresh_token = _login(anonymous, email).json()["data"]["refresh_token"]
    refreshed = anonymous.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 200
    access = refreshed.json()["data"]["access_token"]
    assert Api(local_stack.url, access).get("/api/v1/users/me").json()["data"]["email"] == email


def test_refresh_fails_for_garbage_and_for_a_deleted_user(local_stack, anonymous):
    assert anonymous.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40}).status_code == 401
    email = _email()
    user_id = _register(anonymous, email).json()["data"]["user_id"]
    refresh_token = _login(anonymous, email).json()["data"]["refresh_token"]
    boto3.client("cognito-idp", endpoint_url=local_stack.moto.endpoint).admin_delete_user(
        UserPoolId=local_stack.user_pool_id, Username=user_id
    )
    response = anonymous.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


def test_update_profile_is_partial_and_validated(local_stack, anonymous):
    email = _email()
    _register(anonymous, email)
    me = _signed_in(local_stack, email)
    address = {"label": "home", "name": "Pat Shopper", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
    updated = me.request("PUT", "/api/v1/users/me", json={"phone": "+14155550123", "addresses": [address]})
    assert updated.status_code == 200, updated.text
    # A later partial update keeps what it does not name.
    renamed = me.request("PUT", "/api/v1/users/me", json={"name": "Pat Q. Shopper"}).json()["data"]
    assert renamed["name"] == "Pat Q. Shopper" and renamed["phone"] == "+14155550123"
    assert renamed["addresses"][0]["line1"] == "1 Main St" and renamed["addresses"][0]["country"] == "US"
    for bad, field in [
        ({"phone": "555-1234"}, "body.phone"),
        ({"addresses": [{**address, "country": "usa"}]}, "body.addresses.0.country"),
        ({"addresses": [{**address, "postal_code": ""}]}, "body.addresses.0.postal_code"),
        ({"addresses": [address] * 11}, "body.addresses"),
        ({"email": "new@example.com"}, "body.email"),
    ]:
        response = me.request("PUT", "/api/v1/users/me", json=bad)
        assert response.status_code == 400, bad
        assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]], (bad, response.json())
    assert me.get("/api/v1/users/me").json()["data"] == {**renamed, "roles": ["customer"]}
    # phone: null removes the phone
    assert me.request("PUT", "/api/v1/users/me", json={"phone": None}).json()["data"]["phone"] is None


def test_another_users_profile_is_404_but_admins_and_the_user_see_it(local_stack, anonymous, admin):
    alice, bob = _email("alice"), _email("bob")
    alice_id = _register(anonymous, alice).json()["data"]["user_id"]
    _register(anonymous, bob)
    as_bob = _signed_in(local_stack, bob)
    as_alice = _signed_in(local_stack, alice)
    theirs = as_bob.get(f"/api/v1/users/{alice_id}")
    missing = as_bob.get(f"/api/v1/users/{uuid.uuid4()}")
    # Another user's resource is indistinguishable from a missing one.
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"] == missing.json()["error"]
    assert as_alice.get(f"/api/v1/users/{alice_id}").json()["data"]["email"] == alice
    assert admin.get(f"/api/v1/users/{alice_id}").json()["data"]["email"] == alice
    assert admin.get(f"/api/v1/users/{uuid.uuid4()}").status_code == 404


def test_demo_accounts_sign_in_through_the_api(local_stack, anonymous):
    from local.seed import DEMO_USERS

    for email, role in DEMO_USERS:
        api = _signed_in(local_stack, email, local_stack.demo_password)
        assert api.get("/api/v1/users/me").json()["data"]["roles"] == [role]


def test_confirm_checks_the_code_and_reveals_nothing_about_unknown_emails(anonymous):
    malformed = anonymous.post("/api/v1/auth/confirm", json={"email": _email(), "code": "12ab"})
    assert malformed.status_code == 400 and "body.code" in [f["field"] for f in malformed.json()["error"]["details"]["fields"]]
    unknown = anonymous.post("/api/v1/auth/confirm", json={"email": _email("ghost"), "code": "123456"})
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["fields"][0]["field"] == "body.code"
