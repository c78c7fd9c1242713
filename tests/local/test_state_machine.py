"""A CDK-defined saga runs on moto's Step Functions interpreter with in-process Lambda tasks.

The stack is synthesized by the same CDK the app uses, deployed with
`local.stepfunctions.deploy_functions_and_state_machines`, and executed by moto: Retry, Catch into
compensation, `.waitForTaskToken` released by SendTaskSuccess, and SendTaskFailure caught.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cfn import Deployment
from local.lambda_runtime import LambdaRuntime
from local.moto_patches import get_lambda_runtime, set_lambda_runtime
from local.stepfunctions import deploy_functions_and_state_machines
from tests.fixtures import saga_tasks
from tests.support.cdk import synth_template

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _stage_fixture_code(target: Path) -> Path:
    """A minimal asset directory holding the `tests.fixtures` package (not the whole repo)."""
    (target / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "__init__.py", target / "tests" / "__init__.py")
    for source in (ROOT / "tests" / "fixtures").glob("*.py"):
        shutil.copy(source, target / "tests" / "fixtures" / source.name)
    return target


def _build_saga(asset_dir: Path) -> Any:
    def build(stack: Any) -> None:
        from aws_cdk import Duration
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_stepfunctions as sfn
        from aws_cdk import aws_stepfunctions_tasks as tasks

        code = lambda_.Code.from_asset(str(asset_dir))

        def fn(construct_id: str, handler: str) -> lambda_.Function:
            return lambda_.Function(
                stack,
                construct_id,
                runtime=lambda_.Runtime.PYTHON_3_12,
                code=code,
                handler=f"tests.fixtures.saga_tasks.{handler}",
                environment={"SAGA_NAME": "checkout"},
            )

        # Direct function ARN as Resource (payload_response_only) ...
        reserve = tasks.LambdaInvoke(
            stack,
            "ReserveStock",
            lambda_function=fn("ReserveStockFn", "reserve_stock"),
            payload_response_only=True,
            result_path="$.reservation",
        )
        reserve.add_retry(
            errors=["TransientError"], interval=Duration.seconds(1), max_attempts=2, backoff_rate=1
        )
        # ... and the arn:aws:states:::lambda:invoke integration.
        charge = tasks.LambdaInvoke(
            stack,
            "ChargePayment",
            lambda_function=fn("ChargePaymentFn", "charge_payment"),
            result_selector={"paymentId.$": "$.Payload.paymentId"},
            result_path="$.payment",
        )
        release = tasks.LambdaInvoke(
            stack,
            "ReleaseStock",
            lambda_function=fn("ReleaseStockFn", "release_stock"),
            payload_response_only=True,
            result_path="$.compensation",
        ).next(sfn.Fail(stack, "PaymentFailed", error="PaymentFailed", cause="payment declined"))
        charge.add_catch(release, errors=["PaymentDeclined"], result_path="$.error")

        await_shipment = tasks.LambdaInvoke(
            stack,
            "AwaitShipment",
            lambda_function=fn("RequestShipmentFn", "request_shipment"),
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"orderId": sfn.JsonPath.string_at("$.orderId"), "taskToken": sfn.JsonPath.task_token}
            ),
            result_path="$.shipment",
        )
        cancel = tasks.LambdaInvoke(
            stack,
            "CancelOrder",
            lambda_function=fn("CancelOrderFn", "cancel_order"),
            payload_response_only=True,
            result_path="$.compensation",
        ).next(sfn.Fail(stack, "ShipmentFailed", error="ShipmentFailed", cause="shipment failed"))
        await_shipment.add_catch(cancel, errors=["States.ALL"], result_path="$.error")

        definition = reserve.next(charge).next(await_shipment).next(sfn.Succeed(stack, "Done"))
        sfn.StateMachine(stack, "Checkout", definition_body=sfn.DefinitionBody.from_chainable(definition))

    return build


@pytest.fixture(scope="module")
def saga(moto_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """GIVEN the saga stack synthesized by CDK and deployed onto the moto server."""
    asset_dir = _stage_fixture_code(tmp_path_factory.mktemp("saga-asset"))
    template = synth_template(_build_saga(asset_dir), stack_name="SagaStack")
    deployment = Deployment(template)
    runtime = LambdaRuntime(deployment.functions())
    runtime.apply_environment()
    previous = set_lambda_runtime(runtime)
    deploy_functions_and_state_machines(deployment, runtime, moto_server.endpoint)
    (state_machine_id,) = deployment.resources_of_type("AWS::StepFunctions::StateMachine")
    client = boto3.client("stepfunctions", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    yield {
        "deployment": deployment,
        "sfn": client,
        "arn": deployment.physical_id(state_machine_id),
        "endpoint": moto_server.endpoint,
    }
    if get_lambda_runtime() is runtime:
        set_lambda_runtime(previous)


def _start(saga: Any, order: dict[str, Any], name: str | None = None) -> str:
    kwargs = {"name": name} if name else {}
    return saga["sfn"].start_execution(stateMachineArn=saga["arn"], input=json.dumps(order), **kwargs)["executionArn"]


def _wait_for(saga: Any, execution_arn: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = saga["sfn"].describe_execution(executionArn=execution_arn)
        if execution["status"] in TERMINAL:
            return execution
        time.sleep(0.02)
    raise AssertionError(f"{execution_arn} still {execution['status']} after {timeout}s")


def _wait_for_token(order_id: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        token = saga_tasks.TASK_TOKENS.get(order_id)
        if token:
            return token
        time.sleep(0.01)
    raise AssertionError(f"no task token for {order_id} after {timeout}s")


def _history(saga: Any, execution_arn: str) -> list[dict[str, Any]]:
    return saga["sfn"].get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def _entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def _order_id() -> str:
    return f"o-{uuid.uuid4().hex[:8]}"


def test_deployment_resolves_definition_to_local_function_arns(saga: Any) -> None:
    """GIVEN the deployed stack THEN the definition references moto's functions, not CDK tokens."""
    deployment: Deployment = saga["deployment"]
    definition = json.loads(saga["sfn"].describe_state_machine(stateMachineArn=saga["arn"])["definition"])
    lambda_client = boto3.client("lambda", endpoint_url=saga["endpoint"], region_name="us-east-1")

    reserve_resource = definition["States"]["ReserveStock"]["Resource"]
    assert reserve_resource.startswith("arn:aws:lambda:us-east-1:123456789012:function:ReserveStockFn")
    assert definition["States"]["ChargePayment"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert definition["States"]["AwaitShipment"]["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    for lid, spec in deployment.functions().items():
        config = lambda_client.get_function_configuration(FunctionName=lid)
        assert config["FunctionArn"] == deployment.attribute(lid, "Arn")
        assert config["Handler"] == spec.handler
        assert config["Environment"]["Variables"] == {"SAGA_NAME": "checkout"}
    (state_machine_id,) = deployment.resources_of_type("AWS::StepFunctions::StateMachine")
    assert deployment.attribute(state_machine_id, "Name") == state_machine_id
    assert saga["arn"] == f"arn:aws:states:us-east-1:123456789012:stateMachine:{state_machine_id}"


def test_happy_path_retries_transient_failure_and_waits_for_task_token(saga: Any) -> None:
    # GIVEN an order whose stock reservation is throttled on the first attempt
    order_id = _order_id()
    execution_arn = _start(saga, {"orderId": order_id, "quantity": 2, "flaky": True}, name=order_id)

    # WHEN the warehouse confirms the shipment with the task token it was handed
    token = _wait_for_token(order_id)
    assert saga["sfn"].describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    saga["sfn"].send_task_success(taskToken=token, output=json.dumps({"trackingId": "TRK-1"}))
    execution = _wait_for(saga, execution_arn)

    # THEN the execution succeeds, the reservation ran twice (one retry) and the output carries
    # every step's result
    assert execution["status"] == "SUCCEEDED", execution
    assert len(saga_tasks.calls("reserve_stock", order_id)) == 2
    assert len(saga_tasks.calls("charge_payment", order_id)) == 1
    assert saga_tasks.calls("release_stock", order_id) == []
    output = json.loads(execution["output"])
    assert output["reservation"] == {"reservationId": f"res-{order_id}", "quantity": 2}
    assert output["payment"] == {"paymentId": f"pay-{order_id}"}
    assert output["shipment"] == {"trackingId": "TRK-1"}

    # AND the history shows the states in order and the failed first Lambda attempt
    events = _history(saga, execution_arn)
    assert _entered_states(events) == ["ReserveStock", "ChargePayment", "AwaitShipment", "Done"]
    lambda_failures = [e for e in events if e["type"] == "LambdaFunctionFailed"]
    assert [f["lambdaFunctionFailedEventDetails"]["error"] for f in lambda_failures] == ["TransientError"]
    assert sum(1 for e in events if e["type"] == "LambdaFunctionSucceeded") == 1
    assert events[-1]["type"] == "ExecutionSucceeded"


def test_declined_payment_is_caught_and_compensated(saga: Any) -> None:
    # GIVEN an order whose payment is declined (a non-retryable custom exception)
    order_id = _order_id()

    # WHEN it runs (unnamed start: moto 5.2.5 would name it ":None" without the patch)
    execution = _wait_for(saga, _start(saga, {"orderId": order_id, "declined": True}))

    # THEN the Catch routes to the compensation, which releases the reservation, and the
    # execution fails with the Fail state's error
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PaymentFailed"
    assert len(saga_tasks.calls("charge_payment", order_id)) == 1  # no retry on PaymentDeclined
    (release_event,) = saga_tasks.calls("release_stock", order_id)
    assert release_event["reservation"]["reservationId"] == f"res-{order_id}"
    assert release_event["error"]["Error"] == "PaymentDeclined"
    cause = json.loads(release_event["error"]["Cause"])  # the Lambda error envelope
    assert cause["errorType"] == "PaymentDeclined"
    assert cause["errorMessage"] == f"card declined for {order_id}"
    assert saga_tasks.calls("request_shipment", order_id) == []

    events = _history(saga, execution["executionArn"])
    assert _entered_states(events) == ["ReserveStock", "ChargePayment", "ReleaseStock", "PaymentFailed"]
    (task_failed,) = [e for e in events if e["type"] == "TaskFailed"]
    assert task_failed["taskFailedEventDetails"]["error"] == "PaymentDeclined"


def test_send_task_failure_is_caught_with_its_cause(saga: Any) -> None:
    # GIVEN an order waiting for the warehouse
    order_id = _order_id()
    execution_arn = _start(saga, {"orderId": order_id})
    token = _wait_for_token(order_id)

    # WHEN the warehouse reports failure through the task token
    saga["sfn"].send_task_failure(taskToken=token, error="ShipmentLost", cause="truck fell off the ferry")
    execution = _wait_for(saga, execution_arn)

    # THEN States.ALL catches it and the compensation sees both error and cause
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ShipmentFailed"
    (cancel_event,) = saga_tasks.calls("cancel_order", order_id)
    assert cancel_event["error"] == {"Error": "ShipmentLost", "Cause": "truck fell off the ferry"}
    assert saga_tasks.calls("release_stock", order_id) == []
    events = _history(saga, execution_arn)
    assert _entered_states(events) == ["ReserveStock", "ChargePayment", "AwaitShipment", "CancelOrder", "ShipmentFailed"]


def test_unnamed_executions_get_distinct_arns(saga: Any) -> None:
    """GIVEN two unnamed starts THEN both run (moto 5.2.5 alone gives both the ARN ':None')."""
    first = _start(saga, {"orderId": _order_id(), "declined": True})
    second = _start(saga, {"orderId": _order_id(), "declined": True})
    assert first != second
    assert not first.endswith(":None")
    assert {_wait_for(saga, arn)["status"] for arn in (first, second)} == {"FAILED"}
