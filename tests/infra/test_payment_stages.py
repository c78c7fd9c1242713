"""Payment provider per stage, and who may read the payment secrets (issue 12).

- prod takes payments through a real provider only: its default template has no sandbox route, and
  a prod synth configured with the sandbox fails with a message that says what to set;
- each payment secret is readable by exactly the functions that use it (IAM, and the variable
  naming it): the webhook secret by the webhook verifier and the sandbox's signer, the Stripe key
  by whoever creates intents or refunds;
- links are built from PUBLIC_BASE_URL: the operator's (prod: `-c public_base_url=...`), or else
  the API's own, which CDK sets from the API itself.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest

from tests.infra.conftest import Synth

SANDBOX_HANDLERS = {"functions.payments.handlers.sandbox_page.handler", "functions.payments.handlers.sandbox_pay.handler"}


def _sandbox_paths(synth: Synth) -> set[str]:
    parts = {lid: r["Properties"] for lid, r in synth.of_type("AWS::ApiGateway::Resource").items()}
    return {lid for lid, props in parts.items() if props.get("PathPart") == "sandbox"}


def _handlers(synth: Synth) -> set[str]:
    return {r["Properties"]["Handler"] for r in synth.of_type("AWS::Lambda::Function").values() if "Handler" in r["Properties"]}


def test_the_default_prod_template_takes_stripe_and_has_no_sandbox_route(prod: Synth) -> None:
    # GIVEN the prod stage as `cdk deploy -c stage=prod` builds it
    # THEN no API resource, method or function of the sandbox exists
    assert _sandbox_paths(prod) == set()
    assert not SANDBOX_HANDLERS & _handlers(prod)
    # AND every function is told the provider is stripe
    providers = {r["Properties"]["Environment"]["Variables"]["PAYMENT_PROVIDER"] for r in prod.of_type("AWS::Lambda::Function").values()
                 if "PAYMENT_PROVIDER" in (r["Properties"].get("Environment") or {}).get("Variables", {})}
    assert providers == {"stripe"}
    # AND the one fixed webhook URL per provider is there
    webhooks = [p for p in prod.of_type("AWS::ApiGateway::Resource").values() if p["Properties"].get("PathPart") == "webhooks"]
    assert len(webhooks) == 1


def test_dev_keeps_the_sandbox(dev: Synth) -> None:
    assert len(_sandbox_paths(dev)) == 1
    assert SANDBOX_HANDLERS <= _handlers(dev)


@pytest.mark.parametrize("how", ["argument", "context"])
def test_a_prod_synth_with_the_sandbox_provider_fails_with_a_clear_message(how: str) -> None:
    from app import build_app

    # WHEN prod is built with the sandbox provider (as `cdk synth -c stage=prod -c payment_provider=sandbox`)
    kwargs: dict[str, Any] = {"payment_provider": "sandbox"} if how == "argument" else {"context": {"payment_provider": "sandbox"}}
    with pytest.raises(ValueError) as raised:
        build_app(stage="prod", outdir=tempfile.mkdtemp(prefix="cdk-prod-sandbox-"), **kwargs)
    # THEN it fails, saying why and what to set
    assert "production stage" in str(raised.value) and "sandbox" in str(raised.value) and "stripe" in str(raised.value)


def test_an_unknown_provider_is_refused_at_synth() -> None:
    from infra.config import stage_config

    with pytest.raises(ValueError, match="unknown payment_provider"):
        stage_config("dev", "paypal")


def _function_of_role(synth: Synth) -> dict[str, str]:
    """Role logical id -> the function (logical id) that runs as it."""
    return {r["Properties"]["Role"]["Fn::GetAtt"][0]: lid for lid, r in synth.of_type("AWS::Lambda::Function").items()}


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        return set().union(*(_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


def _readers(synth: Synth, secret_logical_id: str) -> set[str]:
    """The functions whose role may GetSecretValue on the secret (by their construct id prefix)."""
    roles = _function_of_role(synth)
    readers = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in actions and secret_logical_id in _refs(statement["Resource"]):
                readers |= {roles[role["Ref"]] for role in policy["Properties"]["Roles"] if role["Ref"] in roles}
    return readers


def _named_by(synth: Synth, variable: str) -> set[str]:
    return {lid for lid, r in synth.of_type("AWS::Lambda::Function").items()
            if variable in (r["Properties"].get("Environment") or {}).get("Variables", {})}


def _ids(synth: Synth, *construct_ids: str) -> set[str]:
    return {synth.logical_id(construct_id) for construct_id in construct_ids}


def test_each_payment_secret_is_readable_by_exactly_the_functions_that_use_it(dev: Synth, prod: Synth) -> None:
    # GIVEN the secrets of each stage
    dev_webhook = dev.logical_id("Payments", "WebhookSecret")
    prod_webhook, prod_key = prod.logical_id("Payments", "WebhookSecret"), prod.logical_id("Payments", "StripeApiKey")
    # THEN the webhook secret: the verifier, and (sandbox stages) the sandbox's signer; nobody else
    assert _readers(dev, dev_webhook) == _ids(dev, "PaymentsWebhook", "PaymentsSandboxPay")
    assert _readers(prod, prod_webhook) == _ids(prod, "PaymentsWebhook")
    # AND the Stripe key: whoever creates intents or refunds (the webhook and the payments stream's
    # settler refund a late payment)
    key_users = _ids(prod, "PaymentsWebhook", "OrdersCancelOrder", "OrdersRefundOrder", "OrderSettler", "OrderPaymentSettler",
                     "CheckoutCreatePaymentIntent", "CheckoutRefundIfCaptured")
    assert _readers(prod, prod_key) == key_users
    # AND only those functions are even told the secrets' names
    assert _named_by(dev, "PAYMENT_WEBHOOK_SECRET_ARN") == _ids(dev, "PaymentsWebhook", "PaymentsSandboxPay")
    assert _named_by(prod, "PAYMENT_WEBHOOK_SECRET_ARN") == _ids(prod, "PaymentsWebhook")
    assert _named_by(prod, "STRIPE_API_KEY_SECRET_ARN") == key_users
    assert _named_by(dev, "STRIPE_API_KEY_SECRET_ARN") == set()


def test_links_are_built_from_the_stages_public_base_url_the_operators_or_the_apis_own(synth: Synth) -> None:
    api = synth.logical_id("Http", "Api")
    chosen = synth.stack.config.public_base_url  # prod: the operator's (-c public_base_url=...); dev: none
    assert (chosen is not None) == (synth.stage == "prod")
    for lid, function in synth.of_type("AWS::Lambda::Function").items():
        variables = (function["Properties"].get("Environment") or {}).get("Variables", {})
        if "PAYMENT_PROVIDER" not in variables:
            continue  # CDK's own helper functions
        url = variables["PUBLIC_BASE_URL"]
        if chosen:
            assert url == chosen == "https://api.shop.example.com", (lid, url)
        else:
            assert api in _refs(url) and url["Fn::Join"][1][-1] == f"/{synth.stage}", (lid, url)
