"""The moto gaps the local stack patches or works around (ADR 0030 lists them), each probed in
stock moto: every test here FAILS once upstream fixes its gap, which is the signal to drop (or
re-check) the corresponding patch. A probe runs moto's own code: the behaviour through the
in-process server with the patch taken out for the test, or, where moto's original is replaced
without a reference to it, moto's installed source.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def moto_source(module: str, qualname: str) -> str:
    """The source of `qualname` (e.g. "Class.method") as moto's installed file has it (not as patched)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin
    source = Path(spec.origin).read_text()
    nodes: list[Any] = ast.parse(source).body
    node: Any = None
    for part in qualname.split("."):
        node = next(n for n in nodes if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part)
        nodes = node.body
    return ast.get_source_segment(source, node) or ""


def _table(dynamodb: Any, ttl: bool = False) -> str:
    name = f"gap-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
    return name


# -- DynamoDB -----------------------------------------------------------------------------------


def test_moto_has_no_lock_around_dynamodb_requests() -> None:
    # patch: local.moto_patches._patch_dynamodb_lock (one process-wide lock; tests/local/test_dynamodb_concurrency.py)
    assert "lock" not in moto_source("moto.dynamodb.responses", "DynamoHandler.call_action").lower()


def test_moto_transactions_deep_copy_whole_tables() -> None:
    # patch: local.moto_patches._patch_dynamodb_transactions (check all conditions, then write)
    assert "deepcopy" in moto_source("moto.dynamodb.models", "DynamoDBBackend.transact_write_items")


def test_moto_caps_transact_get_items_at_25_items() -> None:
    # patch: local.moto_patches._patch_dynamodb_transaction_item_limit (DynamoDB takes 100; ADR 0051,
    # tests/local/test_capacity_rules.py::test_transactions_take_up_to_100_items)
    spec = importlib.util.find_spec("moto.dynamodb.responses")
    assert spec is not None and spec.origin
    assert "TRANSACTION_MAX_ITEMS = 25" in Path(spec.origin).read_text().splitlines()
    assert "TRANSACTION_MAX_ITEMS" in moto_source("moto.dynamodb.responses", "DynamoHandler.transact_get_items")


def test_moto_never_expires_ttl_items(moto_server: Any) -> None:
    # workaround: local.ttl.TtlSweeper (tests/local/test_ttl.py)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server.endpoint)  # the server's answer, not the in-process stub's
    table = _table(dynamodb, ttl=True)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "old"}, "expiresAt": {"N": str(int(time.time()) - 3600)}})
    time.sleep(1.5)
    assert "Item" in dynamodb.get_item(TableName=table, Key={"pk": {"S": "old"}}, ConsistentRead=True)


def test_moto_answers_500_to_between_a_string_and_number_bounds(moto_server: Any) -> None:
    # workaround: local.ttl.TtlSweeper.DUE tests attribute_type first (DynamoDB evaluates to false)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server.endpoint)  # the server's answer, not the in-process stub's
    table = _table(dynamodb)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "expiresAt": {"S": "soon"}})
    with pytest.raises(ClientError) as error:
        dynamodb.scan(
            TableName=table,
            FilterExpression="expiresAt BETWEEN :low AND :high",
            ExpressionAttributeValues={":low": {"N": "0"}, ":high": {"N": "10"}},
        )
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_moto_stream_records_never_carry_a_ttl_identity() -> None:
    # patch: local.ttl.install_ttl_stream_marking (REMOVE records of TTL deletes get userIdentity)
    assert "userIdentity" not in moto_source("moto.dynamodb.models.table", "StreamRecord")


def test_moto_runs_stream_event_source_mappings_inside_the_write() -> None:
    # replaced: local.streams.StreamPoller (Lambda's batching, filters, retries, partial failures)
    assert "send_dynamodb_items" in moto_source("moto.dynamodb.models.table", "StreamShard.add")


def test_moto_leaks_a_shard_iterator_per_get_records() -> None:
    # accepted (ADR 0002): every GetRecords stores a new iterator that nothing removes
    source = moto_source("moto.dynamodbstreams.models", "ShardIterator.get")
    assert "shard_iterators[new_shard_iterator.arn]" in source and "del " not in source and ".pop(" not in source


# -- Lambda ---------------------------------------------------------------------------------------


def test_moto_runs_lambda_code_in_docker() -> None:
    # patch: local.moto_patches._patch_lambda_invoke (the handler, in-process)
    assert "docker" in moto_source("moto.awslambda.models", "LambdaFunction._invoke_lambda")


# -- Step Functions ---------------------------------------------------------------------------------


def test_moto_does_not_execute_state_machines_by_default() -> None:
    # patch: local.moto_patches._enable_step_functions_execution
    spec = importlib.util.find_spec("moto.core.config")
    assert spec is not None and spec.origin
    assert '"stepfunctions": {"execute_state_machine": False}' in Path(spec.origin).read_text()


def test_moto_send_task_failure_drops_the_cause() -> None:
    # patch: local.moto_patches._patch_step_functions_bugs (send_task_failure)
    assert "cause" not in moto_source("moto.stepfunctions.responses", "StepFunctionResponse.send_task_failure")


def test_moto_names_every_unnamed_execution_none(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # patch: local.moto_patches._patch_step_functions_bugs (start_execution generates a name)
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    monkeypatch.setattr(StepFunctionsParserBackend, "start_execution", StepFunctionsParserBackend.start_execution.__wrapped__)
    sfn = boto3.client("stepfunctions", endpoint_url=moto_server.endpoint)  # the server's answer, not the in-process stub's
    machine = sfn.create_state_machine(
        name=f"gap-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/gap",
    )["stateMachineArn"]
    assert sfn.start_execution(stateMachineArn=machine)["executionArn"].endswith(":None")


# -- Cognito ----------------------------------------------------------------------------------------


def test_moto_answers_500_to_a_refresh_token_of_a_deleted_user(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # patch: local.moto_patches._patch_cognito_refresh_of_deleted_user (NotAuthorizedException)
    from moto.cognitoidp.models import CognitoIdpUserPool

    original = CognitoIdpUserPool.create_tokens_from_refresh_token.__wrapped__
    monkeypatch.setattr(CognitoIdpUserPool, "create_tokens_from_refresh_token", original)
    cognito = boto3.client("cognito-idp", endpoint_url=moto_server.endpoint)  # the server's answer, not the in-process stub's
    pool = cognito.create_user_pool(PoolName=f"gap-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="gap", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"])[
        "UserPoolClient"
    ]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="gap@example.com", TemporaryPassword="Temp-Passw0rd!")
    cognito.admin_set_user_password(UserPoolId=pool, Username="gap@example.com", Password="Real-Passw0rd!", Permanent=True)
    tokens = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "gap@example.com", "PASSWORD": "Real-Passw0rd!"},
    )["AuthenticationResult"]
    cognito.admin_delete_user(UserPoolId=pool, Username="gap@example.com")
    with pytest.raises(ClientError) as error:
        cognito.initiate_auth(
            ClientId=client, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
        )
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_moto_has_no_lock_around_cognito_user_pools() -> None:
    # patch: local.moto_patches._patch_cognito_lock (concurrent sign-ups walked a dict being changed: a 500)
    assert "for user in self.users.values()" in moto_source("moto.cognitoidp.models", "CognitoIdpUserPool._get_user")
    assert "Lock" not in moto_source("moto.cognitoidp.models", "CognitoIdpUserPool")


def test_moto_ignores_the_client_request_token_of_transact_write_items() -> None:
    # patched: local.moto_patches._patch_dynamodb_transaction_tokens
    assert "ClientRequestToken" not in moto_source("moto.dynamodb.responses", "DynamoHandler.transact_write_items")
    assert "ClientRequestToken" not in moto_source("moto.dynamodb.models", "DynamoDBBackend.transact_write_items")
