"""The Cognito authorizer in front of private routes, over HTTP (docs/decisions/0005-tokens.md).

Every private method carries the scope `aws.cognito.signin.user.admin`, so, as on API Gateway,
it takes an access token of this API's app client, RS256-signed by the pool's key, unexpired and
carrying the scope. Anything else is 401 before any Lambda runs, in the error envelope with the
code UNAUTHORIZED (the template's gateway response, infra/api.py).

Forged tokens are signed with moto's own Cognito private key (the one every local pool signs
with, shipped in moto's package resources) so that each forgery differs from a real token in
exactly one way; `test_a_re_signed_copy_of_a_real_token_is_accepted` proves the forging itself
yields tokens the authorizer accepts.

Prefix rule (local/authorizer.py): an exact-case `Bearer ` prefix is removed if present and the
rest is stripped, so `Authorization: <token>` works as well as `Authorization: Bearer <token>`;
any other scheme spelling (`bearer <token>`) is read as part of the token and fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from local.authorizer import AuthorizationFailed

PRIVATE = "/api/v1/categories"  # POST: signed-in admins only
SCOPE = "aws.cognito.signin.user.admin"
PASSWORD = "Intruder-Passw0rd!"

MOTO_JWK = load_resource("cognitoidp/resources/jwks-private.json")
MOTO_PRIVATE_KEY = jwt.PyJWK(MOTO_JWK).key
MOTO_PUBLIC_PEM = MOTO_PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
OTHER_PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- forging -------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def rs256(claims: dict[str, Any], key: Any = MOTO_PRIVATE_KEY, kid: str = "dummy") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return f"{_segment({'alg': alg, 'typ': 'JWT', 'kid': 'dummy'})}.{_segment(claims)}."


def hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HMAC keyed with the pool's (public) RSA key material.
    Built by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': 'dummy'})}.{_segment(claims)}"
    signature = hmac.new(MOTO_PUBLIC_PEM, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def fresh(claims: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    forged = {**claims, "iat": now, "auth_time": now, "exp": now + 3600, "jti": str(uuid.uuid4())}
    forged.update(changes)
    return {key: value for key, value in forged.items() if value is not None}


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def invocations(local_stack, monkeypatch) -> list[str]:
    """The function names the runtime invoked during the test (the gateway calls `runtime.invoke`)."""
    calls: list[str] = []
    real_invoke = local_stack.runtime.invoke

    def spy(function_name: str, event: Any, request_id: str | None = None) -> Any:
        calls.append(function_name)
        return real_invoke(function_name, event, request_id=request_id)

    monkeypatch.setattr(local_stack.runtime, "invoke", spy)
    return calls


@pytest.fixture(scope="module")
def create_function(local_stack) -> str:
    route, _ = local_stack.gateway.match("POST", PRIVATE)
    assert route.authorization_type == "COGNITO_USER_POOLS" and SCOPE in route.scopes
    return route.function_name


def _sign_in(idp: Any, client_id: str, email: str, password: str) -> dict[str, Any]:
    return idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
    )["AuthenticationResult"]


@pytest.fixture(scope="module")
def other_client_tokens(local_stack):
    """The demo admin signed in through a second app client of the same pool (not this API's client)."""
    idp = boto3.client("cognito-idp", endpoint_url=local_stack.moto.endpoint)
    client_id = idp.create_user_pool_client(
        UserPoolId=local_stack.user_pool_id,
        ClientName=f"other-app-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    try:
        yield _sign_in(idp, client_id, "admin@example.com", local_stack.demo_password)
    finally:
        idp.delete_user_pool_client(UserPoolId=local_stack.user_pool_id, ClientId=client_id)


@pytest.fixture(scope="module")
def other_pool_tokens(local_stack):
    """An admin of another user pool in the same moto (moto signs every pool's tokens with one key)."""
    idp = boto3.client("cognito-idp", endpoint_url=local_stack.moto.endpoint)
    pool_id = idp.create_user_pool(PoolName=f"other-pool-{uuid.uuid4().hex[:6]}", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    try:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        email = "intruder@example.com"
        idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
        idp.create_group(UserPoolId=pool_id, GroupName="admin")
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName="admin")
        yield _sign_in(idp, client_id, email, PASSWORD)
    finally:
        idp.delete_user_pool(UserPoolId=pool_id)


def _category_names(anonymous) -> set[str]:
    names: set[str] = set()
    stack = list(anonymous.get(PRIVATE).json()["data"])
    while stack:
        node = stack.pop()
        names.add(node["name"])
        stack.extend(node["children"])
    return names


def _post_category(anonymous, authorization: str | None) -> tuple[Any, str]:
    name = f"Should not exist {uuid.uuid4().hex[:8]}"
    headers = {} if authorization is None else {"Authorization": authorization}
    return anonymous.post(PRIVATE, json={"name": name}, headers=headers), name


def assert_rejected_before_the_handler(anonymous, invocations, create_function, authorization: str | None) -> None:
    response, name = _post_category(anonymous, authorization)
    # THEN API Gateway's answer: 401, in the error envelope (its UNAUTHORIZED gateway response)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["status"] == "error" and body["error"]["code"] == "UNAUTHORIZED", body
    assert body["meta"]["request_id"]
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    # AND the handler never ran, so nothing was created
    assert create_function not in invocations
    assert name not in _category_names(anonymous)


# -- requests without a usable token -------------------------------------------------------------
def test_no_authorization_header_is_401_before_the_handler(anonymous, invocations, create_function):
    # GIVEN a valid body  WHEN it is posted with no Authorization header at all
    assert_rejected_before_the_handler(anonymous, invocations, create_function, None)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("", id="empty-header"),
        pytest.param("Bearer ", id="bearer-and-empty-token"),
        pytest.param("Bearer", id="bearer-alone"),
        pytest.param("Bearer abc.def", id="two-segments"),
        pytest.param("abc.def", id="two-segments-no-bearer"),
        pytest.param("Bearer a.b.c", id="three-junk-segments"),
        pytest.param("Bearer " + secrets.token_hex(48), id="random-hex"),
        pytest.param("Bearer " + ".".join(secrets.token_urlsafe(24) for _ in range(3)), id="random-base64url-jwt-shape"),
        pytest.param("Basic YWRtaW46cGFzc3dvcmQ=", id="basic-auth"),
        pytest.param(f"Bearer {_segment({'alg': 'RS256'})}.{_b64(b'[1, 2]')}.c2ln", id="payload-not-an-object"),
    ],
)
def test_malformed_authorization_is_401_before_the_handler(anonymous, invocations, create_function, authorization):
    # GIVEN a header that holds no JWT  WHEN it is sent to a private route
    assert_rejected_before_the_handler(anonymous, invocations, create_function, authorization)


# -- forged or wrong tokens ----------------------------------------------------------------------
# Each case changes one thing about the real admin access token; `reason` is what the authorizer
# says in its log, checked so that every case is rejected for the reason it is about.
Forge = Callable[[dict[str, Any], pytest.FixtureRequest], str]


def _real(request: pytest.FixtureRequest, role: str = "admin") -> dict[str, Any]:
    return request.getfixturevalue("tokens")[role]


FORGERIES: dict[str, tuple[Forge, str]] = {
    "expired": (
        lambda c, r: rs256(fresh(c, iat=int(time.time()) - 7200, auth_time=int(time.time()) - 7200,
                                 exp=int(time.time()) - 60)),
        "Signature has expired",
    ),
    "signed-by-another-key-same-kid": (lambda c, r: rs256(fresh(c), key=OTHER_PRIVATE_KEY), "Signature verification failed"),
    "signed-by-another-key-unknown-kid": (
        lambda c, r: rs256(fresh(c), key=OTHER_PRIVATE_KEY, kid="attacker"),
        "Unable to find a signing key",
    ),
    "signature-stripped": (lambda c, r: rs256(fresh(c)).rsplit(".", 1)[0] + ".", "Signature verification failed"),
    "payload-swapped-under-a-real-signature": (
        # the real token's header and signature around a payload that makes the customer an admin
        lambda c, r: ".".join([
            _real(r, "customer")["AccessToken"].split(".")[0],
            _segment({**claims_of(_real(r, "customer")["AccessToken"]), "cognito:groups": ["admin"]}),
            _real(r, "customer")["AccessToken"].split(".")[2],
        ]),
        "Signature verification failed",
    ),
    "alg-none": (lambda c, r: unsigned(fresh(c)), "only RS256"),
    "alg-None-capitalised": (lambda c, r: unsigned(fresh(c), alg="None"), "only RS256"),
    "hs256-keyed-with-the-public-key": (lambda c, r: hs256_with_public_key(fresh(c)), "only RS256"),
    "id-token": (lambda c, r: _real(r)["IdToken"], "an access token of this API's app client is required"),
    "refresh-token": (lambda c, r: _real(r)["RefreshToken"], "malformed token"),
    "access-token-of-another-app-client": (
        lambda c, r: r.getfixturevalue("other_client_tokens")["AccessToken"],
        "an access token of this API's app client is required",
    ),
    "forged-client-id": (lambda c, r: rs256(fresh(c, client_id="1234567890abcdefghijklmnop")),
                         "an access token of this API's app client is required"),
    "access-token-of-another-pool": (
        lambda c, r: r.getfixturevalue("other_pool_tokens")["AccessToken"],
        "unknown issuer",
    ),
    "issuer-of-another-pool": (
        lambda c, r: rs256(fresh(c, iss=c["iss"].rsplit("/", 1)[0] + "/us-east-1_someoneelse")),
        "unknown issuer",
    ),
    "no-issuer": (lambda c, r: rs256(fresh(c, iss=None)), "unknown issuer"),
    "scope-removed": (lambda c, r: rs256(fresh(c, scope=None)), "lacks the required scope"),
    "other-scopes-only": (lambda c, r: rs256(fresh(c, scope="openid email phone")), "lacks the required scope"),
    "token-use-id": (lambda c, r: rs256(fresh(c, token_use="id")), "an access token of this API's app client is required"),
    "no-exp": (lambda c, r: rs256(fresh(c, exp=None)), 'Token is missing the "exp" claim'),
    "no-sub": (lambda c, r: rs256(fresh(c, sub=None)), 'Token is missing the "sub" claim'),
}


@pytest.mark.parametrize("case", list(FORGERIES))
def test_wrong_token_is_401_before_the_handler(anonymous, invocations, create_function, tokens, request, case):
    # GIVEN the real admin access token changed in exactly one way
    forge, reason = FORGERIES[case]
    token = forge(claims_of(tokens["admin"]["AccessToken"]), request)
    # WHEN it is sent as a bearer token to a private route
    assert_rejected_before_the_handler(anonymous, invocations, create_function, f"Bearer {token}")
    # AND the authorizer rejects it for the reason this case is about (not some other accident)
    with pytest.raises(AuthorizationFailed, match=reason):
        local_stack = request.getfixturevalue("local_stack")
        local_stack.gateway.authorizer.claims_for(f"Bearer {token}", [SCOPE])


def test_lowercase_bearer_scheme_is_not_stripped(anonymous, invocations, create_function, tokens):
    # GIVEN a real token  WHEN the scheme is spelled `bearer` (RFC 6750 says case-insensitive)
    # THEN the local authorizer reads `bearer <token>` as the token and rejects it (documented above)
    assert_rejected_before_the_handler(
        anonymous, invocations, create_function, f"bearer {tokens['admin']['AccessToken']}"
    )


# -- tokens that pass --------------------------------------------------------------------------------
def _created(anonymous, response, name: str) -> None:
    assert response.status_code in (201, 409), response.text
    if response.status_code == 201:
        assert response.json()["data"]["name"] == name
    assert name in _category_names(anonymous)


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("Bearer {token}", id="bearer-prefix"),
        pytest.param("{token}", id="no-prefix"),
        pytest.param("Bearer   {token}  ", id="extra-spaces"),
    ],
)
def test_real_access_token_reaches_the_handler(anonymous, invocations, create_function, tokens, template):
    # GIVEN the admin's real access token, with or without the `Bearer ` prefix
    name = f"Authorized {uuid.uuid4().hex[:8]}"
    # WHEN the admin creates a category
    response = anonymous.post(
        PRIVATE, json={"name": name}, headers={"Authorization": template.format(token=tokens["admin"]["AccessToken"])}
    )
    # THEN the handler ran and the category exists
    assert invocations.count(create_function) == 1
    _created(anonymous, response, name)


def test_a_re_signed_copy_of_a_real_token_is_accepted(anonymous, invocations, create_function, tokens):
    # GIVEN the real admin claims re-signed with moto's key (the control for every forgery above)
    token = rs256(fresh(claims_of(tokens["admin"]["AccessToken"])))
    name = f"Re-signed {uuid.uuid4().hex[:8]}"
    # WHEN it is used  THEN it works: the forgeries fail only for what they change
    response = anonymous.post(PRIVATE, json={"name": name}, headers={"Authorization": f"Bearer {token}"})
    assert create_function in invocations
    _created(anonymous, response, name)


def test_handler_receives_the_verified_claims_as_rest_api_strings(local_stack, tokens):
    # GIVEN the real admin access token  WHEN the authorizer checks it
    claims = local_stack.gateway.authorizer.claims_for(f"Bearer {tokens['admin']['AccessToken']}", [SCOPE])
    real = claims_of(tokens["admin"]["AccessToken"])
    # THEN the claims are the token's, every value a string, groups comma-joined
    assert claims["sub"] == real["sub"] and claims["token_use"] == "access"
    assert claims["cognito:groups"] == "admin" and claims["exp"] == str(real["exp"])
    assert all(isinstance(value, str) for value in claims.values())


def test_methods_without_scopes_take_id_tokens_only(local_stack, tokens, other_client_tokens):
    # GIVEN the rule API Gateway applies to a method with no authorization scopes (none in our
    # template yet, so checked on the authorizer directly)
    authorizer = local_stack.gateway.authorizer
    # WHEN it gets the admin's ID token  THEN it passes, with the ID token's claims
    claims = authorizer.claims_for(f"Bearer {tokens['admin']['IdToken']}", [])
    assert claims["token_use"] == "id" and claims["email"] == "admin@example.com"
    # AND access tokens, and ID tokens of another app client, do not
    for token in (tokens["admin"]["AccessToken"], other_client_tokens["IdToken"]):
        with pytest.raises(AuthorizationFailed, match="an ID token of this API's app client is required"):
            authorizer.claims_for(f"Bearer {token}", [])


# -- signed in, but not allowed -------------------------------------------------------------------
@pytest.mark.parametrize("role", ["customer", "seller"])
def test_signed_in_non_admin_gets_403_envelope_from_the_handler(anonymous, invocations, create_function, tokens, role):
    # GIVEN a valid access token of a customer or a seller
    response, name = _post_category(anonymous, f"Bearer {tokens[role]['AccessToken']}")
    # THEN the authorizer let it through and the handler answered 403 FORBIDDEN in the envelope
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["status"] == "error" and body["error"]["code"] == "FORBIDDEN"
    assert body["meta"]["request_id"]
    assert invocations.count(create_function) == 1
    # AND nothing was created
    assert name not in _category_names(anonymous)
