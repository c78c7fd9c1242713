"""User id -> where to write: through the identity service's door to Cognito (never the pool
directly), so Cognito's errors are handled in one place.

The user id is the Cognito `sub`. AdminGetUser takes it as the username: the pool signs in with
email as a username attribute, so each user's username IS its sub (and Cognito accepts a local
user's sub as `Username` in any pool); moto keys such users by sub too. No ListUsers scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.identity import api as identity


@dataclass(frozen=True)
class Recipient:
    user_id: str
    email: str
    name: str


def find(user_id: str) -> Recipient | None:
    """The user's VERIFIED address, or None if there is no such user (deleted), no email, or an
    email nobody has proven to own: order mail (addresses, what was bought) never goes to an
    address a user just typed in. In AWS the pool keeps the last verified address as `email`
    until a new one is verified (infra/identity.py `keep_original`), so a verified address is
    the one there; the check holds for pools, imports and admin edits without that setting."""
    attributes = identity.get_user(user_id)
    if not attributes or not attributes.get("email"):
        return None
    if attributes.get("email_verified", "false").lower() != "true":
        return None
    return Recipient(user_id, attributes["email"], attributes.get("name", ""))
