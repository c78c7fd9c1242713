"""The identity service's slice of the topology: its routes and the table it owns. infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import API_PREFIX, Access, Auth, Route, Service
from infra.tables import IDENTITY_TABLE

SERVICE = Service(
    name="identity",
    tables=(IDENTITY_TABLE,),
    routes=(
        Route(
            "POST",
            f"{API_PREFIX}/auth/register",
            "functions.identity.handlers.register.handler",
            auth=Auth.PUBLIC,
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=(
                "cognito-idp:AdminConfirmSignUp", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminDeleteUser",
            ),
            description="Create a customer or seller account.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/confirm",
            "functions.identity.handlers.confirm.handler",
            auth=Auth.PUBLIC,
            description="Confirm an account with the emailed code (stages without auto-confirmation).",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/login",
            "functions.identity.handlers.login.handler",
            auth=Auth.PUBLIC,
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            description="Sign in with email and password; throttled per email + client address and per client address.",
        ),
        Route(
            "POST",
            f"{API_PREFIX}/auth/refresh",
            "functions.identity.handlers.refresh.handler",
            auth=Auth.PUBLIC,
            description="A new access token from a refresh token.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/users/me",
            "functions.identity.handlers.get_me.handler",
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="The signed-in user's profile.",
        ),
        Route(
            "PUT",
            f"{API_PREFIX}/users/me",
            "functions.identity.handlers.update_me.handler",
            tables=((IDENTITY_TABLE, Access.READ_WRITE),),
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="Update name, phone and shipping addresses.",
        ),
        Route(
            "GET",
            f"{API_PREFIX}/users/{{user_id}}",
            "functions.identity.handlers.get_user.handler",
            tables=((IDENTITY_TABLE, Access.READ),),  # a read never writes (no profile made on the fly)
            user_pool_actions=("cognito-idp:AdminGetUser",),
            description="A user's profile: the user themself or an admin (anyone else: 404).",
        ),
    ),
)

