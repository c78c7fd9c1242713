"""Who is calling, and may they: one small module every handler uses.

API Gateway's Cognito authorizer (and the local gateway, from the same route definitions) has
already verified the token; handlers only read its claims. Another user's resource must look
exactly like a missing one, so ownership failures raise NotFound, not Forbidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import Forbidden, NotFound, Unauthorized

ROLES = ("customer", "seller", "admin")


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    roles: frozenset[str]

    def has_any_role(self, roles: Iterable[str]) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def parse_groups(value: Any) -> frozenset[str]:
    """Groups arrive as a list, "a,b" (REST API authorizer) or "[a b]" (HTTP API authorizer)."""
    if not value:
        return frozenset()
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value).strip("[]").replace(",", " ").split()
    return frozenset(item for item in items if item in ROLES)


def principal_from_event(event: dict[str, Any]) -> Principal | None:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    user_id = claims.get("sub")
    if not user_id:
        return None
    return Principal(
        user_id=user_id,
        email=claims.get("email", "") or claims.get("username", ""),
        roles=parse_groups(claims.get("cognito:groups")),
    )


def require_user(event: dict[str, Any]) -> Principal:
    principal = principal_from_event(event)
    if principal is None:
        raise Unauthorized("Sign in to do this.")
    return principal


def require_role(event: dict[str, Any], *roles: str) -> Principal:
    principal = require_user(event)
    if not principal.has_any_role(roles):
        raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")
    return principal


def ensure_owner(principal: Principal, owner_id: str | None, *, admin_allowed: bool = True) -> None:
    """Not yours -> 404, indistinguishable from a resource that does not exist."""
    if owner_id == principal.user_id or (admin_allowed and principal.is_admin):
        return
    raise NotFound("No such resource.")
