"""The local twin of API Gateway's Cognito user-pool authorizer.

Same rule as the deployed authorizer (docs/decisions/0005-tokens.md), implemented once in
shared/tokens.py (the cart's optional sign-in uses the same code): a route marked private
needs `Authorization: Bearer <access token>` signed by the pool's key (RS256 only), unexpired,
issued for the pool's app client, and carrying one of the method's authorization scopes.
Anything else is a 401 before any Lambda runs, answered as API Gateway answers it: with the
template's UNAUTHORIZED gateway response (infra/api.py: the error envelope, code UNAUTHORIZED),
which local/gateway.py renders.
"""

from __future__ import annotations

from local.cfn import REGION
from shared.tokens import InvalidToken, TokenVerifier, issuer_for

AuthorizationFailed = InvalidToken


class CognitoAuthorizer(TokenVerifier):
    def __init__(self, moto_endpoint: str, user_pool_ids: list[str], client_ids: list[str]) -> None:
        super().__init__(
            {issuer_for(pool_id, REGION): jwks_url(moto_endpoint, pool_id) for pool_id in user_pool_ids},
            set(client_ids),
        )


def jwks_url(moto_endpoint: str, pool_id: str) -> str:
    """moto serves each pool's signing keys here (the public Cognito URL in AWS)."""
    return f"{moto_endpoint}/{pool_id}/.well-known/jwks.json"
