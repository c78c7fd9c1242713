"""Secrets Manager secrets from a CDK stack, created on moto by local.secrets, and the local
stack's payment webhook secret knob (read back the way functions/payments/signatures.py does)."""

from __future__ import annotations

import json
import string
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.secrets import deploy_secrets, secret_string, set_webhook_secret, webhook_secret_arns
from local.stack import DEFAULT_PAYMENT_WEBHOOK_SECRET, payment_webhook_secret
from tests.support.cdk import synth_template

ARN_PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"


def _build(stack: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_secretsmanager as secretsmanager

    webhook = secretsmanager.Secret(
        stack,
        "WebhookSecret",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"previous": ""}),
            generate_string_key="current",
            password_length=40,
            exclude_punctuation=True,
        ),
    )
    secretsmanager.Secret(stack, "Plain", secret_string_value=cdk.SecretValue.unsafe_plain_text("s3cr3t-value"))
    secretsmanager.Secret(stack, "Generated")  # CDK's default: GenerateSecretString {}
    secretsmanager.Secret(
        stack,
        "Named",
        secret_name="shop/api-key",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=12, exclude_uppercase=True, exclude_numbers=True, exclude_punctuation=True
        ),
    )
    lambda_.Function(
        stack,
        "WebhookReader",
        runtime=lambda_.Runtime.PYTHON_3_12,
        code=lambda_.Code.from_inline("#"),
        handler="tests.fixtures.queue_consumers.read_webhook_secrets",
        environment={"PAYMENT_WEBHOOK_SECRET_ARN": webhook.secret_arn, "WEBHOOK_SECRET_NAME": webhook.secret_name},
    )


def _logical_id(deployment: Deployment, prefix: str) -> str:
    (logical_id,) = [lid for lid in deployment.resources_of_type("AWS::SecretsManager::Secret") if lid.startswith(prefix)]
    return logical_id


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synth_template(_build, stack_name="SecretsTestStack")


@pytest.fixture(scope="module")
def client(moto_server: Any) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_server.endpoint)


@pytest.fixture(scope="module")
def deployed(template: dict[str, Any], client: Any) -> Deployment:
    """GIVEN the stack's secrets deployed onto the moto server."""
    deployment = Deployment(template)
    deploy_secrets(deployment, client)
    return deployment


def _value(client: Any, secret_id: str) -> str:
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


def test_generate_secret_string_with_a_template_gets_the_generated_key(deployed: Deployment, client: Any) -> None:
    # GIVEN a secret generated from {"previous": ""} with key "current", 40 chars, no punctuation
    logical_id = _logical_id(deployed, "WebhookSecret")
    arn = deployed.physical_id(logical_id)

    # WHEN its value is read
    value = json.loads(_value(client, arn))

    # THEN it is the template's JSON object plus the generated key, as CloudFormation builds it
    assert set(value) == {"previous", "current"}
    assert value["previous"] == ""
    assert len(value["current"]) == 40
    assert set(value["current"]) <= set(string.ascii_letters + string.digits)
    # AND Ref of the secret is moto's ARN (name = logical id, plus Secrets Manager's suffix)
    assert arn.startswith(f"{ARN_PREFIX}{logical_id}-")
    assert client.describe_secret(SecretId=logical_id)["ARN"] == arn
    assert deployed.attribute(logical_id, "Id") == arn


def _is_json_object(text: str) -> bool:
    """A password may start with "{" by chance (punctuation is allowed): only a parsed object counts."""
    import json

    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def test_other_secret_properties_are_honoured(deployed: Deployment, client: Any) -> None:
    # GIVEN a SecretString secret, a default generated one and a named one without upper case,
    # digits or punctuation
    plain, generated, named = (deployed.physical_id(_logical_id(deployed, p)) for p in ("Plain", "Generated", "Named"))

    # WHEN their values are read  THEN each is what CloudFormation would have stored
    assert _value(client, plain) == "s3cr3t-value"
    default = _value(client, generated)
    assert len(default) == 32  # CloudFormation's default PasswordLength
    assert not _is_json_object(default)  # a plain password, not a SecretStringTemplate document
    api_key = _value(client, named)
    assert len(api_key) == 12 and set(api_key) <= set(string.ascii_lowercase)
    # AND a secret_name from the template is the moto name
    assert named.startswith(f"{ARN_PREFIX}shop/api-key-")


def test_function_environment_resolves_to_the_secret_arn(deployed: Deployment) -> None:
    # GIVEN a function whose environment names the webhook secret by ARN and by name
    (spec,) = deployed.functions().values()

    # THEN both resolve to what moto created (CDK derives the name from the ARN)
    arn = deployed.physical_id(_logical_id(deployed, "WebhookSecret"))
    assert spec.environment["PAYMENT_WEBHOOK_SECRET_ARN"] == arn
    assert spec.environment["WEBHOOK_SECRET_NAME"] == arn.split(":")[6]
    assert webhook_secret_arns(deployed) == {arn}


def test_redeploying_onto_the_same_server_keeps_arns_and_values(deployed: Deployment, template: dict[str, Any],
                                                                client: Any) -> None:
    # GIVEN the secrets already on the server, with their generated values
    before = {lid: (deployed.physical_id(lid), _value(client, deployed.physical_id(lid)))
              for lid in deployed.resources_of_type("AWS::SecretsManager::Secret")}
    count = len(client.list_secrets(MaxResults=100)["SecretList"])

    # WHEN the same template is deployed again
    again = Deployment(template)
    created = deploy_secrets(again, client)

    # THEN every secret keeps its ARN and value (nothing regenerated, nothing added)
    after = {lid: (arn, _value(client, arn)) for lid, arn in created.items()}
    assert after == before
    assert len(client.list_secrets(MaxResults=100)["SecretList"]) == count


def test_webhook_secret_knob_sets_current_and_the_handler_reads_it(deployed: Deployment, client: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the deployed stack and a function that reads the webhook secret as payments does
    # (its environment set for this test only: a session-wide local stack may share the process)
    runtime = LambdaRuntime(deployed.functions())
    ((reader, spec),) = deployed.functions().items()
    for key, value in spec.environment.items():
        monkeypatch.setenv(key, value)

    # WHEN the local stack's knob value is put in the secret
    arns = set_webhook_secret(deployed, client, "whsec_dGVzdC1zZWNyZXQ=")

    # THEN the secret holds exactly {"current": value, "previous": ""} ...
    (arn,) = arns
    assert json.loads(_value(client, arn)) == {"current": "whsec_dGVzdC1zZWNyZXQ=", "previous": ""}
    # ... which the handler (functions.payments.signatures.webhook_secrets) reads back
    assert runtime.invoke(reader, {}) == ["whsec_dGVzdC1zZWNyZXQ="]
    # AND setting the same value again writes no new version
    def versions() -> list[tuple[str, list[str]]]:  # not LastAccessedDate: reading the value moves it
        listed = client.list_secret_version_ids(SecretId=arn)["Versions"]
        return sorted((version["VersionId"], version["VersionStages"]) for version in listed)

    before = versions()
    set_webhook_secret(deployed, client, "whsec_dGVzdC1zZWNyZXQ=")
    assert versions() == before


def test_knob_value_comes_from_the_environment_or_the_documented_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no PAYMENT_WEBHOOK_SECRET  THEN the documented default is used
    monkeypatch.delenv("PAYMENT_WEBHOOK_SECRET", raising=False)
    assert payment_webhook_secret() == DEFAULT_PAYMENT_WEBHOOK_SECRET == "whsec_bG9jYWwtc2FuZGJveC13ZWJob29rLXNlY3JldA=="
    # GIVEN an empty one  THEN still the default (an empty secret would sign nothing)
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "")
    assert payment_webhook_secret() == DEFAULT_PAYMENT_WEBHOOK_SECRET
    # GIVEN one set by the developer  THEN that one
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "whsec_bXktb3du")
    assert payment_webhook_secret() == "whsec_bXktb3du"


def test_default_webhook_secret_verifies_a_sandbox_signature() -> None:
    # GIVEN the default secret  WHEN the sandbox signs a webhook with it  THEN payments accepts it
    from functions.payments.signatures import sign_standard_webhook, verify_standard_webhook

    body = json.dumps({"type": "payment.succeeded", "data": {"id": "pay_1"}})
    headers = sign_standard_webhook(body, DEFAULT_PAYMENT_WEBHOOK_SECRET, "msg_1")
    assert verify_standard_webhook(body, headers, [DEFAULT_PAYMENT_WEBHOOK_SECRET])["data"] == {"id": "pay_1"}


def test_an_imported_webhook_secret_is_created_under_its_name(client: Any) -> None:
    # GIVEN a function that names a secret the template does not create (imported by name)
    partial_arn = f"{ARN_PREFIX}imported/webhook"
    deployment = Deployment({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Handler": "tests.fixtures.queue_consumers.read_webhook_secrets",
        "Environment": {"Variables": {"PAYMENT_WEBHOOK_SECRET_ARN": partial_arn}}}}}})

    # WHEN the knob is applied
    set_webhook_secret(deployment, client, "whsec_aW1wb3J0ZWQ=")

    # THEN the secret exists and the partial ARN finds it, as in Secrets Manager
    assert json.loads(_value(client, partial_arn)) == {"current": "whsec_aW1wb3J0ZWQ=", "previous": ""}


def test_generate_secret_string_needs_both_template_and_key(client: Any) -> None:
    # GIVEN a template without a key  THEN it is rejected, as CloudFormation does
    with pytest.raises(ValueError, match="SecretStringTemplate and GenerateStringKey"):
        secret_string(client, {"GenerateSecretString": {"SecretStringTemplate": "{}"}})


# -- the local stack's wiring ----------------------------------------------------------------

_CHILD = r'''
import json, sys, time
from local.stack import LocalStack
from tests.fixtures import queue_consumers

stack = LocalStack(port=0, seed=False, template=json.load(open(sys.argv[1]))).start()
try:
    runtime = stack.runtime
    name = {prefix: next(f for f in runtime.functions if f.startswith(prefix)) for prefix in ("Reader", "Publisher", "Consumer")}
    secrets = runtime.invoke(name["Reader"], {})
    published = runtime.invoke(name["Publisher"], {"type": "order.confirmed", "detail": {"orderId": "o-1"}})
    deadline = time.monotonic() + 10
    while not queue_consumers.INVOCATIONS and time.monotonic() < deadline:
        time.sleep(0.05)
    bodies = [json.loads(r["body"]) for batch in queue_consumers.INVOCATIONS[name["Consumer"]] for r in batch]
    print(json.dumps({"secrets": secrets, "published": published, "bodies": bodies,
                      "queue_mappings": list(stack.queue_poller.mappings), "stream_mappings": list(stack.poller.mappings)}))
finally:
    stack.stop()
'''


def _build_checkout_like(stack: Any) -> None:
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_secretsmanager as secretsmanager
    from aws_cdk import aws_sqs as sqs

    def function(construct_id: str, handler: str, **kwargs: Any) -> lambda_.Function:
        return lambda_.Function(stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, code=lambda_.Code.from_inline("#"),
                                handler=f"tests.fixtures.queue_consumers.{handler}", **kwargs)

    secret = secretsmanager.Secret(stack, "WebhookSecret", generate_secret_string=secretsmanager.SecretStringGenerator(
        secret_string_template=json.dumps({"previous": ""}), generate_string_key="current"))
    bus = events.EventBus(stack, "OrderEvents")
    dlq = sqs.Queue(stack, "NotifyDeadLetters")
    queue = sqs.Queue(stack, "Notify", dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3))
    events.Rule(stack, "Notifications", event_bus=bus, event_pattern=events.EventPattern(source=["shop.orders"]),
                targets=[targets.SqsQueue(queue, dead_letter_queue=dlq, retry_attempts=2)])
    function("Reader", "read_webhook_secrets", environment={"PAYMENT_WEBHOOK_SECRET_ARN": secret.secret_arn})
    function("Publisher", "publish_order_event", environment={"ORDER_EVENTS_BUS": bus.event_bus_name})
    function("Consumer", "recording_consumer").add_event_source(sources.SqsEventSource(queue, report_batch_item_failures=True))


def test_the_local_stack_runs_secret_bus_rule_and_queue_consumer(tmp_path: Any) -> None:
    """In a child process: a LocalStack in this one would reset the moto data other tests share."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # GIVEN a checkout-like template and PAYMENT_WEBHOOK_SECRET set by the developer
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synth_template(_build_checkout_like, stack_name="WiringTestStack")))
    env = {**os.environ, "PAYMENT_WEBHOOK_SECRET": "whsec_ZnJvbS10aGUtZW52"}

    # WHEN a LocalStack starts on it and a handler publishes an order event
    child = subprocess.run([sys.executable, "-c", _CHILD, str(template)], cwd=Path(__file__).resolve().parents[2], env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])

    # THEN the webhook secret holds the developer's value, read through Secrets Manager
    assert result["secrets"] == ["whsec_ZnJvbS10aGUtZW52"]
    # AND the event went bus -> rule -> queue -> the queue poller -> the consumer
    assert result["published"]["failed"] == 0
    (body,) = result["bodies"]
    assert body["id"] == result["published"]["ids"][0]
    assert body["detail"] == {"orderId": "o-1"}
    assert len(result["queue_mappings"]) == 1 and result["stream_mappings"] == []
