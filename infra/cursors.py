"""The key that signs list cursors (shared/cursors.py), in Secrets Manager.

`{"current": ..., "previous": ...}`, as the webhook secret: cursors are signed with the current key
and verify with either, so a rotation (ops/rotate_cursor_secret.py: current -> previous, a new
current) breaks no cursor a client holds. Only functions whose route paginates (`Route.cursors`)
can read it (infra/functions.py).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import StageConfig

NAG_REASON = (
    "Rotation is two-phase (the previous key must keep verifying the cursors clients hold); operators "
    "run ops/rotate_cursor_secret.py, which keeps the previous key valid meanwhile."
)


class CursorSecret(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self, "CursorSecret",
            description="List cursor signing keys (HMAC-SHA256): {current, previous}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"previous": ""}', generate_string_key="current",
                password_length=64, exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.DESTROY if config.removal_policy == RemovalPolicy.DESTROY else RemovalPolicy.RETAIN,
        )
        Validations.of(self.secret).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-SMG4", reason=NAG_REASON))
