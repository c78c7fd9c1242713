"""Cognito token verification: the rules of API Gateway's Cognito authorizer, in one place.

Used by the routes marked `Auth.OPTIONAL` (the cart: guests need no token, but a token that is
sent must be valid, or the request is a 401), and by the local stack's twin of the authorizer.
Rules (docs/decisions/0005-tokens.md): RS256 only, signed by the pool's key, unexpired, issued
by the pool; with scopes, an ACCESS token of the app client carrying one of them; without, an
ID token of the app client.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

ACCESS_TOKEN_SCOPE = "aws.cognito.signin.user.admin"


class InvalidToken(Exception):
    pass


def issuer_for(pool_id: str, region: str | None = None) -> str:
    region = region or pool_id.split("_", 1)[0] or os.environ.get("AWS_REGION", "us-east-1")
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class TokenVerifier:
    def __init__(self, jwks_urls: dict[str, str], client_ids: set[str]) -> None:
        """jwks_urls: issuer -> the URL of its JSON Web Key Set."""
        import jwt  # lazy: only requests that carry a token pay for it

        self.client_ids = set(client_ids)
        # PyJWKClient caches the keys (as API Gateway does); a new `kid` refetches.
        self._jwks = {issuer: jwt.PyJWKClient(url, cache_keys=True, lifespan=3600) for issuer, url in jwks_urls.items()}

    def claims_for(self, authorization_header: str | None, scopes: list[str]) -> dict[str, str]:
        """The token's claims as a REST API authorizer hands them to Lambda, or InvalidToken."""
        import jwt

        if not authorization_header:
            raise InvalidToken("no token")
        token = authorization_header.removeprefix("Bearer ").strip()
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("only RS256 tokens are accepted")
        issuer = str(unverified.get("iss"))
        if issuer not in self._jwks:
            raise InvalidToken("token from an unknown issuer")
        try:
            key = self._jwks[issuer].get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=issuer,
                # ID tokens carry `aud` (their app client): PyJWT would reject any `aud` it was not
                # told to expect, so the app client is checked below, for both kinds of token.
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        if scopes:
            # Methods with authorization scopes accept access tokens only.
            if claims.get("token_use") != "access" or claims.get("client_id") not in self.client_ids:
                raise InvalidToken("an access token of this API's app client is required")
            granted = set(str(claims.get("scope", "")).split())
            if not granted.intersection(scopes):
                raise InvalidToken("token lacks the required scope")
        elif claims.get("token_use") != "id" or claims.get("aud") not in self.client_ids:
            raise InvalidToken("an ID token of this API's app client is required")
        return as_rest_api_claims(claims)


def as_rest_api_claims(claims: dict[str, Any]) -> dict[str, str]:
    """REST API authorizers hand claims to Lambda as strings (lists joined with commas)."""
    return {key: ",".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in claims.items()}


@lru_cache(maxsize=4)
def _verifier(pool_id: str, client_id: str, jwks_url: str) -> TokenVerifier:
    return TokenVerifier({issuer_for(pool_id): jwks_url}, {client_id})


def verifier_from_environment() -> TokenVerifier:
    """This stage's pool: USER_POOL_ID, USER_POOL_CLIENT_ID; COGNITO_JWKS_URL overrides where the
    keys are fetched from (the local stack serves them from moto)."""
    pool_id = os.environ["USER_POOL_ID"]
    jwks_url = os.environ.get("COGNITO_JWKS_URL") or f"{issuer_for(pool_id)}/.well-known/jwks.json"
    return _verifier(pool_id, os.environ["USER_POOL_CLIENT_ID"], jwks_url)
