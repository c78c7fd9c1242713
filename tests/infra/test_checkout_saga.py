"""The checkout saga as synthesized: its states, retries, compensation and who may drive it."""

from __future__ import annotations

import json
from typing import Any

from infra.checkout import NOT_RETRIED, STEPS
from tests.infra.conftest import Synth


def _definition(dev: Synth) -> dict[str, Any]:
    (machine,) = dev.of_type("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else "ARN" for part in parts)
    return json.loads(text)


def _statements(dev: Synth, function_id_prefix: str) -> list[dict[str, Any]]:
    found = []
    for policy in dev.of_type("AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if function_id_prefix in roles:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def test_the_happy_path_and_the_compensation_chain(dev: Synth) -> None:
    # GIVEN the synthesized definition
    states = _definition(dev)["States"]
    # THEN the forward path is the ADR's, ending in Done
    order, state = [], _definition(dev)["StartAt"]
    while state in states and states[state]["Type"] == "Task":
        order.append(state)
        state = states[state].get("Next")
    assert order == ["ValidateCart", "ReserveStock", "CreateOrder", "CreatePaymentIntent", "WaitForPayment",
                     "ClearCart", "ConfirmOrder", "CommitStock"]
    assert states["Done"]["Type"] == "Succeed"
    # AND every forward step except ClearCart is caught into CancelOrder -> ReleaseStock -> RefundIfCaptured -> Fail
    for name in [name for name in order if name != "ClearCart"]:
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelOrder"}], name
    assert [states["CancelOrder"]["Next"], states["ReleaseStock"]["Next"], states["RefundIfCaptured"]["Next"]] == [
        "ReleaseStock", "RefundIfCaptured", "Compensated"]
    assert states["Compensated"]["Type"] == "Fail"
    # AND a paid order is never undone because clearing the cart failed
    assert states["ClearCart"]["Catch"][0]["Next"] == "ConfirmOrder"


def test_retries_skip_business_refusals_and_back_off_with_jitter(dev: Synth) -> None:
    states = _definition(dev)["States"]
    for name in STEPS:
        refusals, transient = states[name]["Retry"]
        assert refusals == {"ErrorEquals": NOT_RETRIED, "MaxAttempts": 0}, name
        assert transient["ErrorEquals"] == ["States.ALL"] and transient["JitterStrategy"] == "FULL", name
        assert transient["BackoffRate"] == 2 and transient["MaxAttempts"] >= 3, name


def test_the_payment_wait_uses_a_task_token_and_the_windows_timeout(dev: Synth) -> None:
    wait = _definition(dev)["States"]["WaitForPayment"]
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert wait["TimeoutSecondsPath"] == "$.payment_window_seconds"


def test_only_the_functions_that_need_it_may_start_the_saga_or_answer_its_tokens(dev: Synth) -> None:
    def actions(prefix: str) -> set[str]:
        return {
            action
            for statement in _statements(dev, prefix)
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
            if action.startswith("states:")
        }

    assert actions("OrdersCreateOrder") == {"states:StartExecution"}
    assert actions("PaymentsWebhook") == {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
    assert actions("OrdersGetOrder") == set()
    assert actions("CatalogGetProduct") == set()
