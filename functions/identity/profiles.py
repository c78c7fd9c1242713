"""Profiles: the identity service's own data about a user (Cognito holds the credentials)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError

from functions.identity import cognito
from functions.identity.models import AddressAttribute, ProfileItem
from shared.auth import Principal
from shared.errors import NotFound
from shared.tables import is_condition_failure

if TYPE_CHECKING:  # the request model: only update_me reads a body (cold start of the others)
    from functions.identity.schemas import UpdateProfileRequest


def to_view(item: ProfileItem) -> dict[str, Any]:
    return {
        "user_id": item.user_id,
        "email": item.email,
        "name": item.name,
        "roles": sorted(item.roles or []),
        "phone": item.phone,
        "addresses": [address.as_dict() for address in (item.addresses or [])],
        "created_at": item.created_at.isoformat(),
    }


def create_profile(user_id: str, email: str, name: str, roles: list[str]) -> ProfileItem:
    now = datetime.now(UTC)
    item = ProfileItem(
        ProfileItem.key(user_id), user_id=user_id, email=email, name=name, roles=roles, addresses=[],
        created_at=now, updated_at=now,
    )
    try:
        item.save(condition=ProfileItem.pk.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return ProfileItem.get(ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    return item


def get_profile(user_id: str, roles: frozenset[str]) -> ProfileItem:
    """The profile; created from Cognito the first time for accounts made outside /auth/register
    (operators' admin tools, the demo seed). No such user -> NotFound."""
    try:
        return ProfileItem.get(ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    except ProfileItem.DoesNotExist:
        pass
    attributes = cognito.get_user(user_id)
    if attributes is None:
        raise NotFound("No such user.")
    return create_profile(user_id, attributes.get("email", ""), attributes.get("name", ""), sorted(roles))


def read_profile(user_id: str, roles: frozenset[str]) -> ProfileItem:
    """The profile as get_profile finds it, without ever writing: an account that has none yet
    (made outside /auth/register) is shown from Cognito, unsaved. Reads must not create items: an
    admin looking someone up would otherwise write a profile in their name (and with no roles)."""
    try:
        return ProfileItem.get(ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    except ProfileItem.DoesNotExist:
        pass
    found = cognito.describe_user(user_id)
    # Cognito also resolves aliases (an email): only the account whose id this is answers.
    if found is None or found["attributes"].get("sub", user_id) != user_id:
        raise NotFound("No such user.")
    attributes, created_at = found["attributes"], found["created_at"] or datetime.now(UTC)
    return ProfileItem(
        ProfileItem.key(user_id), user_id=user_id, email=attributes.get("email", ""), name=attributes.get("name", ""),
        roles=sorted(roles), addresses=[], created_at=created_at, updated_at=created_at,
    )


def update_profile(principal: Principal, changes: UpdateProfileRequest) -> ProfileItem:
    item = get_profile(principal.user_id, principal.roles)
    actions = [ProfileItem.updated_at.set(datetime.now(UTC))]
    provided = changes.model_fields_set
    if "name" in provided and changes.name is not None:
        actions.append(ProfileItem.name.set(changes.name))
    if "phone" in provided:
        actions.append(ProfileItem.phone.set(changes.phone) if changes.phone else ProfileItem.phone.remove())
    if "addresses" in provided and changes.addresses is not None:
        actions.append(ProfileItem.addresses.set([AddressAttribute(**a.model_dump()) for a in changes.addresses]))
    # One UpdateItem with only the provided fields: concurrent edits of other fields are kept.
    item.update(actions=actions, condition=ProfileItem.pk.exists())
    return item
