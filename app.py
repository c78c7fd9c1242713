#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth -c stage=dev` or `python app.py` (synth into cdk.out)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.aspects import (  # noqa: E402
    AsyncConsumersHaveFailureDestination,
    EveryQueueAndStreamConsumerHasAnAlarm,
    VpcFunctionsHaveRoutes,
)
from infra.config import stage_config, with_operator_settings  # noqa: E402
from infra.nag import add_suppressions  # noqa: E402
from infra.stack import BackendStack  # noqa: E402


def build_app(
    stage: str | None = None, outdir: str | None = None, context: dict | None = None, payment_provider: str | None = None
) -> tuple[cdk.App, BackendStack]:
    # The CLI passes cdk.json's context (feature flags) itself; a plain `python app.py` or a test
    # must use the same flags, or the two would synthesize different templates.
    if "CDK_CONTEXT_JSON" not in os.environ:
        context = {**json.loads((Path(__file__).parent / "cdk.json").read_text()).get("context", {}), **(context or {})}
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR") or None, context=context)
    config = stage_config(stage or app.node.try_get_context("stage") or "dev", payment_provider or app.node.try_get_context("payment_provider"))
    # alarm_email, notification_from_address, cors_allowed_origins, public_base_url: `-c key=value`
    # (a production stage refuses to build without them; infra/config.py OPERATOR_SETTINGS)
    config = with_operator_settings(config, app.node.try_get_context)
    stack = BackendStack(
        app,
        f"Shop-{config.name}",
        config,
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    cdk.Aspects.of(app).add(AsyncConsumersHaveFailureDestination())
    cdk.Aspects.of(app).add(EveryQueueAndStreamConsumerHasAnAlarm())
    cdk.Aspects.of(app).add(VpcFunctionsHaveRoutes())
    add_suppressions(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


if __name__ == "__main__":
    os.environ.setdefault("CDK_OUTDIR", "cdk.out")
    build_app()[0].synth()
