"""Amazon Cognito: the user pool behind /auth/*, its groups (roles) and the API's app client."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import StageConfig

# Access tokens from USER_PASSWORD_AUTH carry ACCESS_TOKEN_SCOPE; requiring it on every private
# method makes API Gateway accept access tokens only (an ID token has no scope and is rejected).
from shared.tokens import ACCESS_TOKEN_SCOPE  # noqa: F401 - one definition, shared with the handlers

ROLES = ("customer", "seller", "admin")


class Identity(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # A changed email takes effect only once verified: until then the verified one stays
            # `email` (order mail goes to verified addresses only: functions/notifications/recipients.py).
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.deletion_protection,
            removal_policy=config.removal_policy,
        )
        self.client = self.user_pool.add_client(
            "ApiClient",
            generate_secret=False,
            disable_o_auth=True,  # sign-in is USER_PASSWORD_AUTH through our API; no hosted UI/OAuth flows
            auth_flows=cognito.AuthFlow(user_password=True),
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
        )
        for role in ROLES:
            cognito.CfnUserPoolGroup(self, f"{role.capitalize()}Group", user_pool_id=self.user_pool.user_pool_id, group_name=role)
