"""The identity service's only door to Cognito. Errors become domain errors here, once."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from shared.errors import Conflict, Unauthorized, ValidationError
from shared.tables import error_code


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


@lru_cache(maxsize=1)
def _client() -> Any:
    import boto3  # only the identity handlers pay for boto3

    from shared.aws import config

    return boto3.client("cognito-idp", config=config("cognito-idp"))


def _pool() -> str:
    return os.environ["USER_POOL_ID"]


def _app_client() -> str:
    return os.environ["USER_POOL_CLIENT_ID"]


def sign_up(email: str, password: str, name: str) -> str:
    """Create the user; returns its id (`sub`)."""
    try:
        result = _client().sign_up(
            ClientId=_app_client(),
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": name}],
        )
    except Exception as exc:
        code = error_code(exc)
        if code in ("UsernameExistsException", "AliasExistsException"):
            raise EmailTaken("An account with this email already exists.") from exc
        if code == "InvalidPasswordException":
            raise ValidationError("The password is too weak.", {"fields": [{"field": "body.password", "message": str(exc), "type": "weak_password"}]}) from exc
        if code == "InvalidParameterException":
            raise ValidationError("The account details are invalid.", {"reason": str(exc)}) from exc
        raise
    return result["UserSub"]


def confirm_with_code(email: str, code: str) -> None:
    """The user's own confirmation (the emailed code). Wrong, expired or already used codes and
    unknown emails all get the same answer, so it reveals nothing about which accounts exist."""
    from shared.errors import InvalidState

    try:
        _client().confirm_sign_up(ClientId=_app_client(), Username=email, ConfirmationCode=code)
    except Exception as exc:
        error = error_code(exc)
        if error in ("CodeMismatchException", "ExpiredCodeException", "UserNotFoundException", "LimitExceededException"):
            raise ValidationError("The code is wrong or has expired.", {"fields": [{"field": "body.code", "message": "invalid or expired code", "type": "invalid"}]}) from exc
        if error == "NotAuthorizedException":  # already confirmed
            raise InvalidState("This account is already confirmed.") from exc
        raise


def confirm(username: str) -> None:
    """Confirm without a code (dev and local stages): as a code confirmation would, this also marks
    the sign-up address verified (what order mail is sent to: functions/notifications/recipients.py)."""
    _client().admin_confirm_sign_up(UserPoolId=_pool(), Username=username)
    _client().admin_update_user_attributes(
        UserPoolId=_pool(), Username=username, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )


def add_to_group(username: str, group: str) -> None:
    _client().admin_add_user_to_group(UserPoolId=_pool(), Username=username, GroupName=group)


def delete_user(username: str) -> None:
    _client().admin_delete_user(UserPoolId=_pool(), Username=username)


def sign_in(email: str, password: str) -> dict[str, Any] | None:
    """Tokens, or None for wrong credentials (never saying whether the email exists)."""
    try:
        result = _client().initiate_auth(
            ClientId=_app_client(), AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
        )
    except Exception as exc:
        if error_code(exc) in ("NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException", "PasswordResetRequiredException"):
            return None
        raise
    return result.get("AuthenticationResult")


def refresh(refresh_token: str) -> dict[str, Any]:
    try:
        result = _client().initiate_auth(
            ClientId=_app_client(), AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
        )
    except Exception as exc:
        if error_code(exc) in ("NotAuthorizedException", "UserNotFoundException", "ResourceNotFoundException"):
            raise Unauthorized("The refresh token is not valid.") from exc
        raise
    return result["AuthenticationResult"]


def get_user(username: str) -> dict[str, str] | None:
    """The user's attributes (email, name, ...), or None if there is no such user."""
    found = describe_user(username)
    return found["attributes"] if found else None


def describe_user(username: str) -> dict[str, Any] | None:
    """{"attributes": {...}, "created_at": datetime} of the user, or None if there is none."""
    try:
        result = _client().admin_get_user(UserPoolId=_pool(), Username=username)
    except Exception as exc:
        if error_code(exc) == "UserNotFoundException":
            return None
        raise
    return {"attributes": {a["Name"]: a["Value"] for a in result.get("UserAttributes", [])}, "created_at": result.get("UserCreateDate")}
