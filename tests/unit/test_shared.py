"""shared/: ids, money, settings, roles, the error model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from shared import errors
from shared.auth import Principal, ensure_owner, parse_groups, principal_from_event, require_role
from shared.ids import ULID_PATTERN, is_prefixed_id, new_id, new_prefixed_id
from shared.money import format_amount
from shared.money_fields import Amount, CurrencyCode
from shared.settings import Settings


def test_ids_are_ulids_sorted_by_time():
    earlier = new_id(now_ms=1_700_000_000_000)
    later = new_id(now_ms=1_700_000_000_001)
    assert ULID_PATTERN.match(earlier) and earlier < later
    assert len({new_id() for _ in range(1000)}) == 1000
    prefixed = new_prefixed_id("cat")
    assert is_prefixed_id(prefixed, "cat") and not is_prefixed_id(prefixed, "prd")


@given(st.integers(min_value=0, max_value=2**48 - 1))
def test_ulid_time_prefix_orders_like_the_timestamp(ms):
    assert new_id(now_ms=ms)[:10] <= new_id(now_ms=ms + 1)[:10]


class _Price(BaseModel):
    price: Amount
    currency: CurrencyCode


def test_money_is_integer_minor_units_only():
    assert _Price(price=2499, currency="USD").price == 2499
    for bad in ({"price": 24.99, "currency": "USD"}, {"price": "2499", "currency": "USD"},
                {"price": -1, "currency": "USD"}, {"price": 1, "currency": "usd"}, {"price": 1, "currency": "XXX"}):
        with pytest.raises(PydanticError):
            _Price(**bad)
    assert format_amount(2499, "USD") == "24.99 USD"


def test_settings_come_from_the_environment_typed():
    settings = Settings.from_environment({"STAGE": "prod", "RESERVATION_TTL_SECONDS": "60", "UNRELATED": "x"})
    assert settings.stage == "prod" and settings.reservation_ttl_seconds == 60
    with pytest.raises(PydanticError):
        Settings.from_environment({"RESERVATION_TTL_SECONDS": "soon"})


@pytest.mark.parametrize("raw,expected", [
    ("admin", {"admin"}), ("admin,seller", {"admin", "seller"}), ("[admin seller]", {"admin", "seller"}),
    (["customer"], {"customer"}), ("", set()), (None, set()), ("root,admin", {"admin"}),
])
def test_groups_parse_every_authorizer_format(raw, expected):
    assert parse_groups(raw) == expected


def test_roles_and_ownership():
    event = {"requestContext": {"authorizer": {"claims": {"sub": "u1", "cognito:groups": "customer"}}}}
    principal = principal_from_event(event)
    assert principal == Principal("u1", "", frozenset({"customer"}))
    with pytest.raises(errors.Forbidden):
        require_role(event, "admin")
    with pytest.raises(errors.Unauthorized):
        require_role({"requestContext": {}}, "admin")
    ensure_owner(principal, "u1")
    # Another user's resource is a 404, exactly like a missing one.
    with pytest.raises(errors.NotFound):
        ensure_owner(principal, "u2")
    ensure_owner(Principal("a", "", frozenset({"admin"})), "u2")


def test_every_domain_error_has_a_stable_code_and_a_client_error_status():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DomainError)]
    codes = {c.code for c in classes}
    assert {"VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "OUT_OF_STOCK", "INVALID_STATE",
            "IDEMPOTENCY_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED"} <= codes
    assert all(400 <= c.status < 600 for c in classes)
    assert errors.OutOfStock("x").status == 409 and errors.IdempotencyKeyReused("x").status == 422
