"""Whose cart a request is about: the signed-in user's, or a guest's by its X-Cart-Token.

A guest token is 256 random bits; the cart id is derived from its hash, so the table never
holds the token and knowing a cart id gives no access. A token we never issued (or whose cart
has expired or been merged) is a 404 for a guest. A signed-in request carrying a guest token
merges that guest cart into the user's (and the token is spent).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from functions.cart.carts import CartRef, merge
from shared.auth import Principal, principal_from_event
from shared.errors import NotFound

TOKEN_HEADER = "X-Cart-Token"
TOKEN_PATTERN = re.compile(r"^ct_[A-Za-z0-9_-]{43}$")


def new_guest_token() -> str:
    return f"ct_{secrets.token_urlsafe(32)}"


def guest_ref(token: str) -> CartRef:
    return CartRef(f"cart_g{hashlib.sha256(token.encode()).hexdigest()[:32]}", "guest")


def user_ref(principal: Principal) -> CartRef:
    return CartRef(f"cart_u{hashlib.sha256(principal.user_id.encode()).hexdigest()[:32]}", f"user:{principal.user_id}")


def token_from(event: dict[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == TOKEN_HEADER.lower()), None)
    return value.strip() if value else None


def resolve(event: dict[str, Any], *, create_guest: bool = False) -> tuple[CartRef | None, str | None]:
    """(the cart this request is about, a NEW guest token to hand back or None).

    None for the cart: a guest without a token (nothing to read or change yet).
    """
    principal = principal_from_event(event)
    token = token_from(event)
    if principal is not None:
        ref = user_ref(principal)
        if token and TOKEN_PATTERN.match(token):
            merge(guest_ref(token), ref)  # idempotent: an already merged token finds nothing
        return ref, None
    if token:
        if not TOKEN_PATTERN.match(token):
            raise NotFound("No such cart.")
        return guest_ref(token), None
    if create_guest:
        token = new_guest_token()
        return guest_ref(token), token
    return None, None


def require_existing(ref: CartRef | None) -> CartRef:
    if ref is None:
        raise NotFound("No such cart.")
    return ref
