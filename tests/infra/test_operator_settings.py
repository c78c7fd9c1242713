"""What an operator chooses for a production stage comes from the CDK context, never from editing
infra/config.py (docs/decisions/0050-operator-settings-from-context.md): a prod synth without one
of them refuses, naming every missing context key; dev keeps its defaults with no context."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest

from infra.config import OPERATOR_SETTINGS, STAGES, stage_config, with_operator_settings

from .conftest import OPERATOR_CONTEXT, ROOT, Synth

KEYS = ("alarm_email", "notification_from_address", "cors_allowed_origins", "public_base_url")


def _build_prod(context: dict[str, Any]) -> None:
    from app import build_app

    build_app(stage="prod", outdir=tempfile.mkdtemp(prefix="cdk-prod-operator-"), context=context)


def test_the_operator_settings_are_the_four_keys_and_the_suites_context_gives_them_all() -> None:
    assert tuple(OPERATOR_SETTINGS) == KEYS
    assert set(OPERATOR_CONTEXT) == set(KEYS)


def test_a_prod_synth_without_context_names_every_missing_key_in_one_error() -> None:
    # WHEN prod is built as `cdk synth -c stage=prod` alone
    with pytest.raises(ValueError) as raised:
        _build_prod({})
    # THEN one error names every missing context key, and how to pass them
    message = str(raised.value)
    assert "production stage" in message and "-c stage=prod" in message
    for key in KEYS:
        assert f"-c {key}=" in message, key
    assert "infra/config.py" in message  # ...which is not where they go


@pytest.mark.parametrize("missing", KEYS)
def test_a_prod_synth_missing_one_setting_names_that_key_only(missing: str) -> None:
    with pytest.raises(ValueError) as raised:
        _build_prod({key: value for key, value in OPERATOR_CONTEXT.items() if key != missing})
    message = str(raised.value)
    assert f"missing: {missing}." in message
    assert [key for key in KEYS if f"-c {key}=" in message] == [missing]


def test_the_alarm_email_refusal_shows_the_command_to_run() -> None:
    context = {key: value for key, value in OPERATOR_CONTEXT.items() if key != "alarm_email"}
    with pytest.raises(ValueError, match=r"npx cdk synth -c stage=prod -c alarm_email=ops@example\.com"):
        with_operator_settings(stage_config("prod"), context.get)


def test_prods_operator_values_are_neither_in_the_code_nor_in_cdk_json() -> None:
    prod = STAGES["prod"]
    assert prod.alarm_email is None and prod.public_base_url is None and prod.cors_allowed_origins == ()
    for name in ("cdk.json", "cdk.context.json"):
        document = json.loads((ROOT / name).read_text())
        context = document.get("context", document)
        assert not set(KEYS) & set(context), name


def test_dev_needs_no_context_and_takes_what_it_is_given() -> None:
    dev = stage_config("dev")
    # no context: dev's defaults
    assert with_operator_settings(dev, {}.get) == dev
    # context: it overrides (a comma-separated origin list, a URL without its trailing slash)
    given = with_operator_settings(dev, {"cors_allowed_origins": "https://a.example.com, https://b.example.com",
                                         "public_base_url": "https://api.example.com/", "alarm_email": "me@example.com"}.get)
    assert given.cors_allowed_origins == ("https://a.example.com", "https://b.example.com")
    assert given.public_base_url == "https://api.example.com" and given.alarm_email == "me@example.com"
    assert given.notification_from_address == dev.notification_from_address
    # a list from cdk.context.json is taken as it is
    assert with_operator_settings(dev, {"cors_allowed_origins": ["https://a.example.com"]}.get).cors_allowed_origins == ("https://a.example.com",)


@pytest.mark.parametrize(("key", "value"), [("alarm_email", "ops"), ("public_base_url", "http://api.example.com")])
def test_a_malformed_setting_is_refused(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        with_operator_settings(stage_config("dev"), {key: value}.get)


@pytest.mark.slow
def test_the_prod_template_carries_the_operators_settings(prod: Synth) -> None:
    # GIVEN prod synthesized with the suite's operator context (conftest.py)
    # THEN the alarm email is subscribed to the alerts topic
    [subscription] = prod.of_type("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == OPERATOR_CONTEXT["alarm_email"]
    # AND every function of ours sends from, links to and answers CORS for what the operator chose
    ours = [variables for function in prod.of_type("AWS::Lambda::Function").values()
            if "STAGE" in (variables := (function["Properties"].get("Environment") or {}).get("Variables") or {})]
    assert ours
    for variables in ours:
        assert variables["PUBLIC_BASE_URL"] == OPERATOR_CONTEXT["public_base_url"]
        assert variables["CORS_ALLOWED_ORIGINS"] == OPERATOR_CONTEXT["cors_allowed_origins"]
    senders = [v for v in ours if "NOTIFICATION_FROM_ADDRESS" in v]
    assert senders and all(v["NOTIFICATION_FROM_ADDRESS"] == OPERATOR_CONTEXT["notification_from_address"] for v in senders)


def test_the_example_in_the_readme_names_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    deploying = readme.split("## Deploying to AWS", 1)[1].split("\n## ", 1)[0]
    for key in KEYS:
        assert f"-c {key}=" in deploying, key

