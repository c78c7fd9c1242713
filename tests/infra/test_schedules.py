"""Scheduled jobs in the synthesized template (infra/schedules.py), checked against the topology."""

from __future__ import annotations

from typing import Any

import pytest

from infra.schedules import LOCAL_INTERVAL_METADATA
from infra.topology import Access, ScheduledJob, all_scheduled_jobs

from .conftest import Synth

pytestmark = pytest.mark.slow

JOBS = all_scheduled_jobs()
JOB_IDS = [job.id for job in JOBS]


def _function(synth: Synth, handler: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, function)] = [
        (lid, f) for lid, f in synth.of_type("AWS::Lambda::Function").items() if f["Properties"].get("Handler") == handler
    ]
    return logical_id, function


def _rules_targeting(synth: Synth, function_id: str) -> dict[str, dict[str, Any]]:
    return {
        lid: rule
        for lid, rule in synth.of_type("AWS::Events::Rule").items()
        if any(target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in rule["Properties"].get("Targets", []))
    }


def _role_statements(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    role = synth.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _get_att_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["Fn::GetAtt"][0]} if "Fn::GetAtt" in value else set()
        return found.union(*(_get_att_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_get_att_ids(v) for v in value))
    return set()


def test_the_topology_schedules_the_hold_sweeper_every_minute() -> None:
    # GIVEN the topology
    # WHEN its scheduled jobs are listed
    jobs = {job.id: job for job in JOBS}

    # THEN the hold sweeper runs every minute (EventBridge's finest rate), locally every few seconds
    sweeper = jobs["HoldSweeper"]
    assert sweeper.handler == "functions.inventory.consumers.sweep_holds.handler"
    assert sweeper.rate_minutes == 1
    assert 0 < sweeper.local_interval_seconds <= 5


@pytest.mark.parametrize("job", JOBS, ids=JOB_IDS)
def test_each_job_has_one_rule_at_its_rate_targeting_its_function(synth: Synth, job: ScheduledJob) -> None:
    # GIVEN a scheduled job of the topology and its function in the template
    function_id, function = _function(synth, job.handler)

    # WHEN the rules that target that function are collected
    rules = _rules_targeting(synth, function_id)

    # THEN there is exactly one, enabled, at the job's rate, with the local interval as metadata
    assert len(rules) == 1, rules
    [rule] = rules.values()
    expected_rate = "rate(1 minute)" if job.rate_minutes == 1 else f"rate({job.rate_minutes} minutes)"
    assert rule["Properties"]["ScheduleExpression"] == expected_rate
    assert rule["Properties"]["State"] == "ENABLED"
    assert rule["Metadata"][LOCAL_INTERVAL_METADATA] == job.local_interval_seconds
    # AND it is the function's only target, invoked with the scheduled event as is (no Input)
    [target] = rule["Properties"]["Targets"]
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)
    # AND the function runs with the job's timeout, outside the VPC (it needs neither search nor cache)
    assert function["Properties"]["Timeout"] == job.timeout_seconds
    assert "VpcConfig" not in function["Properties"]


@pytest.mark.parametrize("job", JOBS, ids=JOB_IDS)
def test_each_job_keeps_its_failures_in_a_queue_after_bounded_retries(synth: Synth, job: ScheduledJob) -> None:
    # GIVEN a scheduled job's rule and function
    function_id, _ = _function(synth, job.handler)
    [(rule_id, rule)] = _rules_targeting(synth, function_id).items()
    [target] = rule["Properties"]["Targets"]

    # WHEN its target's DLQ and retry policy, and the function's async invoke config, are read
    dead_letter = target["DeadLetterConfig"]["Arn"]
    [invoke_config] = [
        config["Properties"]
        for config in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    # THEN undeliverable events go to an SQS queue, after a few retries within a few periods
    queue_id = dead_letter["Fn::GetAtt"][0]
    assert synth.resources[queue_id]["Type"] == "AWS::SQS::Queue"
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 5 * 60 * job.rate_minutes}
    # AND failed invocations (after Lambda's own retries) go to the same queue
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["MaximumEventAgeInSeconds"] == 5 * 60 * job.rate_minutes
    # AND both may write to it: EventBridge for this rule (queue policy), the function (its role)
    queue_policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    assert any(
        statement["Effect"] == "Allow"
        and statement["Principal"] == {"Service": "events.amazonaws.com"}
        and "sqs:SendMessage" in _as_list(statement["Action"])
        and statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        for statements in queue_policies
        for statement in statements
    ), queue_policies
    assert any(
        "sqs:SendMessage" in _as_list(s["Action"]) and s["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        for s in _role_statements(synth, function_id)
    )
    # AND the queue is encrypted and keeps messages 14 days
    queue = synth.resources[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


@pytest.mark.parametrize("job", JOBS, ids=JOB_IDS)
def test_only_the_rule_may_invoke_the_job_function(synth: Synth, job: ScheduledJob) -> None:
    # GIVEN a scheduled job's function and rule
    function_id, _ = _function(synth, job.handler)
    [rule_id] = _rules_targeting(synth, function_id)

    # WHEN the Lambda permissions on the function are collected
    permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]

    # THEN EventBridge may invoke it, and only from that rule
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_the_hold_sweeper_gets_only_the_table_access_it_declares(dev: Synth) -> None:
    # GIVEN the hold sweeper job (read-write on the inventory table only)
    [job] = [job for job in JOBS if job.id == "HoldSweeper"]
    assert job.tables and {table.id for table, _ in job.tables} == {"InventoryTable"}
    assert all(access is Access.READ_WRITE for _, access in job.tables)
    function_id, _ = _function(dev, job.handler)
    inventory_table = dev.logical_id("InventoryTable")

    # WHEN the statements of its role are collected
    statements = [s for s in _role_statements(dev, function_id) if s["Effect"] == "Allow"]
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))]
    actions = {a for s in statements for a in _as_list(s["Action"])}

    # THEN DynamoDB access names only the inventory table (and its indexes), and includes writes
    assert dynamodb
    for statement in dynamodb:
        assert "*" not in _as_list(statement["Resource"])
        assert _get_att_ids(statement["Resource"]) == {inventory_table}
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    # AND nothing else of the system: no other service's data, no search, images or user pool
    services = {action.split(":")[0] for action in actions}
    assert services == {"dynamodb", "sqs", "xray"}, services
    # (SQS: sending its own failure records, to its own queue only)
    queue_id = next(
        config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for config in dev.of_type("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": function_id}
    )
    sqs = [s for s in statements if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
    assert {a for s in sqs for a in _as_list(s["Action"])} == {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert all(_as_list(s["Resource"]) == [{"Fn::GetAtt": [queue_id, "Arn"]}] for s in sqs), sqs
