"""GET /api/v1/users/{user_id} only reads: looking someone up never writes a profile."""

from __future__ import annotations

import uuid

import pytest


def _profile_exists(user_id: str) -> bool:
    from functions.identity.store import get_profile

    return get_profile(user_id) is not None


@pytest.fixture
def account_without_profile(local_stack) -> tuple[str, str]:
    """A Cognito account made outside /auth/register (as operators' tools do): no profile yet."""
    from local.seed import create_user

    email = f"operator-made.{uuid.uuid4().hex[:8]}@example.com"
    user_id = create_user(local_stack, email, "customer", "Str0ng-Passw0rd!")
    assert not _profile_exists(user_id)
    return user_id, email


def test_an_admin_reading_a_user_writes_nothing(admin, account_without_profile):
    user_id, email = account_without_profile
    # WHEN an admin reads an account that has no profile item yet
    response = admin.get(f"/api/v1/users/{user_id}")
    # THEN they see it (from Cognito) and no profile was written in that user's name
    assert response.status_code == 200, response.text
    assert (response.json()["data"]["user_id"], response.json()["data"]["email"]) == (user_id, email)
    assert not _profile_exists(user_id)


def test_an_email_in_place_of_a_user_id_is_404_and_writes_nothing(admin, account_without_profile):
    _, email = account_without_profile
    # WHEN an admin asks for /users/<email> (Cognito resolves it as an alias)
    response = admin.get(f"/api/v1/users/{email}")
    # THEN it is a 404, and no junk profile keyed by the email appears
    assert response.status_code == 404, response.text
    assert not _profile_exists(email)
