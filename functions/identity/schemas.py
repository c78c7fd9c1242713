"""Request bodies of the identity endpoints, validated at the edge."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Pragmatic address check (RFC 5322 is far looser); Cognito and the mail provider have the final word.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

# The pool's password policy (infra/identity.py), checked here so a weak password gets field details.
PASSWORD_RULES: tuple[tuple[str, str], ...] = (
    (r".{12,}", "at least 12 characters"),
    (r"[a-z]", "a lowercase letter"),
    (r"[A-Z]", "an uppercase letter"),
    (r"[0-9]", "a digit"),
    (r"[^A-Za-z0-9]", "a symbol"),
)


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _password(value: str) -> str:
    missing = [label for pattern, label in PASSWORD_RULES if not re.search(pattern, value)]
    if missing:
        raise ValueError("password needs " + ", ".join(missing))
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Password = Annotated[str, StringConstraints(max_length=256), AfterValidator(_password)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Body(BaseModel):
    # Built when first used: a handler imports this module for one model (or a field type) and
    # builds only that one (it calls `model_rebuild()` at import), never its siblings.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class RegisterRequest(_Body):
    email: Email
    password: Password
    name: Name
    role: Literal["customer", "seller"] = "customer"  # admins are never self-registered


class LoginRequest(_Body):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ConfirmRequest(_Body):
    email: Email
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]


class RefreshRequest(_Body):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=4096)]


class Address(_Body):
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    name: Name
    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,14}$")]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(description="ISO 3166-1 alpha-2")


class UpdateProfileRequest(_Body):
    """Partial update: fields left out stay as they are; `phone: null` removes the phone."""

    name: Name | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = Field(default=None, description="E.164")
    addresses: Annotated[list[Address], Field(max_length=10)] | None = None
