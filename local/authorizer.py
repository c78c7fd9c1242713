"""The local twin of API Gateway's Cognito user-pool authorizer.

Same rule as the deployed authorizer (docs/decisions/0005-tokens.md): a route marked private
needs `Authorization: Bearer <access token>` signed by the pool's key (RS256 only), unexpired,
issued for the pool's app client, and carrying one of the method's authorization scopes.
Anything else is 401 {"message": "Unauthorized"}, as API Gateway answers.
"""

from __future__ import annotations

from typing import Any

import jwt

from local.cfn import REGION


class AuthorizationFailed(Exception):
    pass


class CognitoAuthorizer:
    def __init__(self, moto_endpoint: str, user_pool_ids: list[str], client_ids: list[str]) -> None:
        self.issuers = {f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}": pool_id for pool_id in user_pool_ids}
        self.client_ids = set(client_ids)
        # One JWKS client per pool; PyJWKClient caches the keys (as API Gateway does).
        self._jwks = {
            pool_id: jwt.PyJWKClient(f"{moto_endpoint}/{pool_id}/.well-known/jwks.json", cache_keys=True, lifespan=3600)
            for pool_id in user_pool_ids
        }

    def claims_for(self, authorization_header: str | None, scopes: list[str]) -> dict[str, str]:
        if not authorization_header:
            raise AuthorizationFailed("no token")
        token = authorization_header.removeprefix("Bearer ").strip()
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthorizationFailed(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise AuthorizationFailed("only RS256 tokens are accepted")
        pool_id = self.issuers.get(str(unverified.get("iss")))
        if pool_id is None:
            raise AuthorizationFailed("token from an unknown issuer")
        try:
            key = self._jwks[pool_id].get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=str(unverified["iss"]),
                # ID tokens carry `aud` (their app client): PyJWT would reject any `aud` it was not
                # told to expect, so the app client is checked below, for both kinds of token.
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthorizationFailed(f"invalid token: {exc}") from exc
        if scopes:
            # Methods with authorization scopes accept access tokens only.
            if claims.get("token_use") != "access" or claims.get("client_id") not in self.client_ids:
                raise AuthorizationFailed("an access token of this API's app client is required")
            granted = set(str(claims.get("scope", "")).split())
            if not granted.intersection(scopes):
                raise AuthorizationFailed("token lacks the required scope")
        elif claims.get("token_use") != "id" or claims.get("aud") not in self.client_ids:
            # Methods without scopes accept ID tokens only (API Gateway's rule).
            raise AuthorizationFailed("an ID token of this API's app client is required")
        return _as_rest_api_claims(claims)


def _as_rest_api_claims(claims: dict[str, Any]) -> dict[str, str]:
    """REST API authorizers hand claims to Lambda as strings (lists joined with commas)."""
    flat = {}
    for key, value in claims.items():
        flat[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return flat
