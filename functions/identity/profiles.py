"""Profiles: the identity service's own data about a user (Cognito holds the credentials)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError

from functions.identity import cognito
from shared.auth import Principal
from shared.errors import NotFound
from shared.lazy import lazy_module
from shared.tables import is_condition_failure

if TYPE_CHECKING:  # the request model: only update_me reads a body (cold start of the others)
    from functions.identity.schemas import UpdateProfileRequest

models = lazy_module("functions.identity.store")  # pynamodb models import most of botocore: on first use (shared/lazy.py)


def to_view(item: models.ProfileItem) -> dict[str, Any]:
    return {
        "user_id": item.user_id,
        "email": item.email,
        "name": item.name,
        "roles": sorted(item.roles or []),
        "phone": item.phone,
        "addresses": [address.as_dict() for address in (item.addresses or [])],
        "created_at": item.created_at.isoformat(),
    }


def create_profile(user_id: str, email: str, name: str, roles: list[str]) -> models.ProfileItem:
    now = datetime.now(UTC)
    item = models.ProfileItem(
        models.ProfileItem.key(user_id), user_id=user_id, email=email, name=name, roles=roles, addresses=[],
        created_at=now, updated_at=now,
    )
    try:
        item.save(condition=models.ProfileItem.pk.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return models.ProfileItem.get(models.ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    return item


def get_profile(user_id: str, roles: frozenset[str]) -> models.ProfileItem:
    """The profile; created from Cognito the first time for accounts made outside /auth/register
    (operators' admin tools, the demo seed). No such user -> NotFound."""
    try:
        return models.ProfileItem.get(models.ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    except models.ProfileItem.DoesNotExist:
        pass
    attributes = cognito.get_user(user_id)
    if attributes is None:
        raise NotFound("No such user.")
    return create_profile(user_id, attributes.get("email", ""), attributes.get("name", ""), sorted(roles))


def read_profile(user_id: str, roles: frozenset[str]) -> models.ProfileItem:
    """The profile as get_profile finds it, without ever writing: an account that has none yet
    (made outside /auth/register) is shown from Cognito, unsaved. Reads must not create items: an
    admin looking someone up would otherwise write a profile in their name (and with no roles)."""
    try:
        return models.ProfileItem.get(models.ProfileItem.key(user_id), "PROFILE", consistent_read=True)
    except models.ProfileItem.DoesNotExist:
        pass
    found = cognito.describe_user(user_id)
    # Cognito also resolves aliases (an email): only the account whose id this is answers.
    if found is None or found["attributes"].get("sub", user_id) != user_id:
        raise NotFound("No such user.")
    attributes, created_at = found["attributes"], found["created_at"] or datetime.now(UTC)
    return models.ProfileItem(
        models.ProfileItem.key(user_id), user_id=user_id, email=attributes.get("email", ""), name=attributes.get("name", ""),
        roles=sorted(roles), addresses=[], created_at=created_at, updated_at=created_at,
    )


def update_profile(principal: Principal, changes: UpdateProfileRequest) -> models.ProfileItem:
    item = get_profile(principal.user_id, principal.roles)
    actions = [models.ProfileItem.updated_at.set(datetime.now(UTC))]
    provided = changes.model_fields_set
    if "name" in provided and changes.name is not None:
        actions.append(models.ProfileItem.name.set(changes.name))
    if "phone" in provided:
        actions.append(models.ProfileItem.phone.set(changes.phone) if changes.phone else models.ProfileItem.phone.remove())
    if "addresses" in provided and changes.addresses is not None:
        actions.append(models.ProfileItem.addresses.set([models.AddressAttribute(**a.model_dump()) for a in changes.addresses]))
    # One UpdateItem with only the provided fields: concurrent edits of other fields are kept.
    item.update(actions=actions, condition=models.ProfileItem.pk.exists())
    return item
