"""Profiles: the identity service's own data about a user (Cognito holds the credentials)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.identity import cognito, store
from functions.identity.store import Profile
from shared.auth import Principal
from shared.errors import NotFound

if TYPE_CHECKING:  # the request model: only update_me reads a body (cold start of the others)
    from functions.identity.schemas import UpdateProfileRequest


def to_view(profile: Profile) -> dict[str, Any]:
    return {
        "user_id": profile.user_id,
        "email": profile.email,
        "name": profile.name,
        "roles": sorted(profile.roles or []),
        "phone": profile.phone,
        "addresses": [dict(address) for address in (profile.addresses or [])],
        "created_at": profile.created_at.isoformat(),
    }


def create_profile(user_id: str, email: str, name: str, roles: list[str]) -> Profile:
    now = datetime.now(UTC)
    profile = Profile(user_id=user_id, email=email, name=name, roles=roles, addresses=[], created_at=now, updated_at=now)
    if store.put_new_profile(profile):
        return profile
    existing = store.get_profile(user_id)
    assert existing is not None  # it was there a moment ago: profiles are never deleted
    return existing


def get_profile(user_id: str, roles: frozenset[str]) -> Profile:
    """The profile; created from Cognito the first time for accounts made outside /auth/register
    (operators' admin tools, the demo seed). No such user -> NotFound."""
    profile = store.get_profile(user_id)
    if profile is not None:
        return profile
    attributes = cognito.get_user(user_id)
    if attributes is None:
        raise NotFound("No such user.")
    return create_profile(user_id, attributes.get("email", ""), attributes.get("name", ""), sorted(roles))


def read_profile(user_id: str, roles: frozenset[str]) -> Profile:
    """The profile as get_profile finds it, without ever writing: an account that has none yet
    (made outside /auth/register) is shown from Cognito, unsaved. Reads must not create items: an
    admin looking someone up would otherwise write a profile in their name (and with no roles)."""
    profile = store.get_profile(user_id)
    if profile is not None:
        return profile
    found = cognito.describe_user(user_id)
    # Cognito also resolves aliases (an email): only the account whose id this is answers.
    if found is None or found["attributes"].get("sub", user_id) != user_id:
        raise NotFound("No such user.")
    attributes, created_at = found["attributes"], found["created_at"] or datetime.now(UTC)
    return Profile(
        user_id=user_id, email=attributes.get("email", ""), name=attributes.get("name", ""), roles=sorted(roles), addresses=[],
        created_at=created_at, updated_at=created_at,
    )


def update_profile(principal: Principal, changes: UpdateProfileRequest) -> Profile:
    get_profile(principal.user_id, principal.roles)  # made from Cognito first if the account has none
    provided = changes.model_fields_set
    fields: dict[str, Any] = {}
    if "name" in provided and changes.name is not None:
        fields["name"] = changes.name
    if "phone" in provided:
        fields["phone"] = changes.phone or None  # None removes it
    if "addresses" in provided and changes.addresses is not None:
        fields["addresses"] = [address.model_dump() for address in changes.addresses]
    # One UpdateItem with only the provided fields: concurrent edits of other fields are kept.
    return store.update_profile(principal.user_id, fields)
