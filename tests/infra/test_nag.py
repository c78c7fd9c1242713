"""cdk-nag (AwsSolutionsChecks) on the real app, and proof that it actually runs."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from infra.nag import ACKNOWLEDGED

from .conftest import Synth

MIN_REASON_LENGTH = 40


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_real_app_has_no_unacknowledged_aws_solutions_finding(synth_attempts: dict[str, Synth], stage: str) -> None:
    # GIVEN the real app, synthesized with AwsSolutionsChecks as a validation plugin
    attempt = synth_attempts[stage]

    # WHEN the synth result and its validation report are read
    # THEN the synth did not fail (cdk-nag makes it raise on any unacknowledged finding)
    assert attempt.error is None, f"cdk-nag findings in {stage}:\n{attempt.error}"
    # AND the report says cdk-nag ran on the app and found nothing unacknowledged
    assert attempt.validation_report.is_file(), "no validation-report.json: is the cdk-nag plugin still added?"
    report = json.loads(attempt.validation_report.read_text())
    nag_reports = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    assert len(nag_reports) == 1, report["pluginReports"]
    assert nag_reports[0]["conclusion"] == "success"
    assert nag_reports[0]["violations"] == []
    # AND every finding it did acknowledge carries a real reason
    for suppressed in nag_reports[0]["suppressedViolations"]:
        assert len(suppressed["reason"].strip()) >= MIN_REASON_LENGTH, suppressed["ruleName"]


@pytest.mark.parametrize("finding_id,reason", ACKNOWLEDGED, ids=[finding_id for finding_id, _ in ACKNOWLEDGED])
def test_every_acknowledgement_has_a_real_reason(finding_id: str, reason: str) -> None:
    # GIVEN an acknowledgement in infra/nag.py
    # WHEN its id and reason are read
    # THEN the id names an AwsSolutions rule and the reason explains it (not "ok" or "n/a")
    assert finding_id.startswith(("AwsSolutions-", "AwsSolutions::AwsSolutions-")), finding_id
    assert len(reason.strip()) >= MIN_REASON_LENGTH, f"{finding_id}: {reason!r}"


def test_the_table_index_acknowledgement_has_a_real_reason() -> None:
    # GIVEN a stack with a DynamoDB table (infra/nag.py acknowledges each table's index grant)
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb

    from infra.nag import add_suppressions

    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-nag-"))
    stack = cdk.Stack(app, "Acks")
    dynamodb.Table(stack, "T", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING))
    captured: list = []
    original = cdk.Validations.acknowledge

    def capture(self, *acknowledgments):  # noqa: ANN001, ANN202
        captured.extend(acknowledgments)
        return original(self, *acknowledgments)

    # WHEN the suppressions are added to it
    cdk.Validations.acknowledge = capture
    try:
        add_suppressions(stack)
    finally:
        cdk.Validations.acknowledge = original

    # THEN the table's own acknowledgement is there, scoped to that table, with a real reason
    table_id = stack.get_logical_id(stack.node.find_child("T").node.default_child)
    dynamic = [ack for ack in captured if table_id in ack.id]
    assert [ack.id for ack in dynamic] == [f"AwsSolutions::AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]"]
    assert all(len(ack.reason) >= MIN_REASON_LENGTH for ack in captured)


def test_aws_solutions_checks_fail_the_synth_of_an_insecure_bucket() -> None:
    # GIVEN a stack with an S3 bucket that neither enforces SSL nor logs access, checked like the app
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-nag-"))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Bucket")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    # WHEN it is synthesized
    with pytest.raises(Exception, match="ValidationFailed") as failure:
        app.synth()

    # THEN cdk-nag reports both findings, and its report says so
    message = str(failure.value)
    assert "AwsSolutions-S1'" in message and "AwsSolutions-S10'" in message
    report_path = os.path.join(app.outdir, "validation-report.json")
    report = json.loads(open(report_path).read())
    [nag] = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "failure", message
    rules = {violation["ruleName"] for violation in nag["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules
