"""What the identity service offers other services: who a user is, and where to reach them.

The only module of functions/identity/ another service may import (.importlinter). Identity is
the lowest service: it calls no other.

  Profile       a user's profile as other services see it (typed, frozen; no table item)
  get_profile   the profile, created from Cognito on first use (catalog: a seller's display name)
  get_user      the user's Cognito attributes, or None (notifications: a verified address)

A caller's function needs the grants these read with (its slice in functions/<service>/service.py):
get_profile reads and, on first use, writes the identity table and may call Cognito's
AdminGetUser; get_user calls AdminGetUser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.identity import cognito, profiles


@dataclass(frozen=True)
class Profile:
    """A user's profile. `user_id` is the Cognito `sub`; `roles` are those the profile was made with."""

    user_id: str
    email: str
    name: str
    roles: tuple[str, ...]


def get_profile(user_id: str, roles: frozenset[str]) -> Profile:
    """The user's profile, read consistently. An account made outside /auth/register (operators'
    tools, the demo seed) gets its profile created from Cognito now, with `roles` (the caller's
    principal's). NotFound (404) if there is no such user."""
    item = profiles.get_profile(user_id, roles)
    return Profile(user_id=item.user_id, email=item.email, name=item.name, roles=tuple(sorted(item.roles or ())))


def get_user(user_id: str) -> Mapping[str, str] | None:
    """The user's Cognito attributes by name (`email`, `email_verified` "true"/"false", `name`,
    `sub`, ...), or None if there is no such user (deleted). The user id is the Cognito `sub`,
    which AdminGetUser takes as the username (functions/notifications/recipients.py)."""
    return cognito.get_user(user_id)


__all__ = ["Profile", "get_profile", "get_user"]
