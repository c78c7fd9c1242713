"""The checkout saga: a Standard Step Functions workflow, one execution per idempotency key
(docs/decisions/0014-checkout-saga-design.md). Steps are functions.orders.consumers.saga's handlers.

    ValidateCart -> ReserveStock -> CreateOrder -> CreatePaymentIntent -> WaitForPayment
      -> ClearCart -> ConfirmOrder -> CommitStock -> Done
    any failure -> CancelOrder -> ReleaseStock -> RefundIfCaptured -> Compensated (Fail)

Business refusals (CheckoutRejected, PaymentFailed, OrderNotPayable...) are never retried;
anything else is retried with exponential back-off and full jitter, then caught. The payment wait
ends by the webhook's SendTaskSuccess/Failure or after the execution input's
`payment_window_seconds` (States.Timeout). A failed ClearCart does not undo a paid order.

The state machine has a fixed name, so the functions that start it or answer its task tokens
name its ARN without a reference to it (a reference would make a cycle: the machine refers to
the step functions, and one of them answers tokens; and those functions live in other services'
nested stacks, ADR 0038). It lives in the orders service's stack (`SAGA_SERVICE`) and its name says
so: `Shop-dev-orders-Checkout` (infra/names.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import StageConfig
from infra.functions import FunctionFactory
from infra.names import service_resource_name
from infra.topology import (
    CART_TABLE,
    CATALOG_TABLE,
    INVENTORY_TABLE,
    ORDERS_TABLE,
    PAYMENTS_TABLE,
    Access,
    PaymentSecret,
    Table,
)

SAGA_SERVICE = "orders"  # the service whose nested stack holds the saga (infra/services.py)
NOT_RETRIED = ["CheckoutRejected", "OrderNotPayable", "PaymentFailed", "OrderCancelled", "StockLost", "States.Timeout"]
RW, R = Access.READ_WRITE, Access.READ


@dataclass(frozen=True)
class Step:
    state: str
    handler: str  # function in functions.orders.consumers.saga
    tables: tuple[tuple[Table, Access], ...]
    payment_secrets: tuple[PaymentSecret, ...] = ()
    respond: bool = False  # answers task tokens itself


STEPS = {
    step.state: step
    for step in (
        Step("ValidateCart", "validate_cart", ((ORDERS_TABLE, RW), (CART_TABLE, RW), (CATALOG_TABLE, R))),
        Step("ReserveStock", "reserve_stock", ((ORDERS_TABLE, RW), (INVENTORY_TABLE, RW), (CART_TABLE, RW))),
        Step("CreateOrder", "create_order", ((ORDERS_TABLE, RW),)),
        Step("CreatePaymentIntent", "create_payment_intent", ((ORDERS_TABLE, RW), (PAYMENTS_TABLE, RW)), payment_secrets=(PaymentSecret.PROVIDER_API,)),
        Step("WaitForPayment", "await_payment", ((ORDERS_TABLE, R), (PAYMENTS_TABLE, RW)), respond=True),
        Step("ConfirmOrder", "confirm_order", ((ORDERS_TABLE, RW),)),
        Step("CommitStock", "commit_stock", ((ORDERS_TABLE, R), (INVENTORY_TABLE, RW))),
        Step("ClearCart", "clear_cart", ((ORDERS_TABLE, R), (CART_TABLE, RW), (INVENTORY_TABLE, RW), (CATALOG_TABLE, R))),
        Step("CancelOrder", "cancel_order", ((ORDERS_TABLE, RW),)),
        Step("ReleaseStock", "release_stock", ((ORDERS_TABLE, R), (INVENTORY_TABLE, RW), (CART_TABLE, RW))),
        Step("RefundIfCaptured", "refund_if_captured", ((ORDERS_TABLE, R), (PAYMENTS_TABLE, RW)), payment_secrets=(PaymentSecret.PROVIDER_API,)),
    )
}


def state_machine_name(scope: Construct) -> str:
    """The same from any stack of the app: "Shop-dev-orders-Checkout"."""
    return service_resource_name(scope, SAGA_SERVICE, "Checkout")


def state_machine_arn(scope: Construct) -> str:
    return Stack.of(scope).format_arn(
        service="states", resource="stateMachine", resource_name=state_machine_name(scope),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def grant_checkout(function: iam.IGrantable, scope: Construct, actions: tuple[str, ...]) -> None:
    """'start': start executions; 'respond': answer task tokens (SendTaskSuccess/Failure)."""
    allowed = []
    if "start" in actions:
        allowed.append("states:StartExecution")
    if "respond" in actions:
        allowed += ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    if allowed:
        function.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=allowed, resources=[state_machine_arn(scope)])
        )


class CheckoutSaga(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, factory: FunctionFactory) -> None:
        super().__init__(scope, construct_id)
        self.functions = {}
        for step in STEPS.values():
            function = factory.create(
                f"Checkout{step.state}", f"functions.orders.consumers.saga.{step.handler}", step.tables,
                payment_secrets=step.payment_secrets, timeout_seconds=30, description=f"Checkout saga step {step.state}",
            )
            if step.respond:
                grant_checkout(function, self, ("respond",))
            self.functions[step.state] = function

        def step(state: str, **kwargs) -> tasks.LambdaInvoke:
            payload = {"order_id.$": "$.order_id", "payment_window_seconds.$": "$.payment_window_seconds"}
            payload.update(kwargs.pop("extra_payload", {}))
            waits = "integration_pattern" in kwargs
            return tasks.LambdaInvoke(
                self, state, lambda_function=self.functions[state], payload=sfn.TaskInput.from_object(payload),
                payload_response_only=None if waits else True, retry_on_service_exceptions=False,
                result_path=kwargs.pop("result_path", sfn.JsonPath.DISCARD), **kwargs,
            )

        def retried(task: tasks.LambdaInvoke, attempts: int = 3) -> tasks.LambdaInvoke:
            task.add_retry(errors=NOT_RETRIED, max_attempts=0)
            task.add_retry(
                errors=["States.ALL"], interval=Duration.seconds(1), max_attempts=attempts, backoff_rate=2,
                max_delay=Duration.seconds(10), jitter_strategy=sfn.JitterType.FULL,
            )
            return task

        compensated = sfn.Fail(self, "Compensated", error="CheckoutCompensated", cause="The checkout was undone")
        compensation = (
            retried(step("CancelOrder", extra_payload={"error.$": "$.error"}), attempts=6)
            .next(retried(step("ReleaseStock"), attempts=6))
            .next(retried(step("RefundIfCaptured"), attempts=6))
            .next(compensated)
        )

        def guarded(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            return retried(task).add_catch(compensation, errors=["States.ALL"], result_path="$.error")

        wait = step(
            "WaitForPayment",
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            extra_payload={"task_token": sfn.JsonPath.task_token},
            task_timeout=sfn.Timeout.at("$.payment_window_seconds"),
            result_path="$.payment",
        )
        # The wait's own Lambda (storing the token) is retried; its outcomes and its timeout are not.
        retried(wait, attempts=3).add_catch(compensation, errors=["States.ALL"], result_path="$.error")
        done = sfn.Succeed(self, "Done")
        confirm = guarded(step("ConfirmOrder"))
        # Paid: the bought quantities leave the cart before the order reads CONFIRMED, so a shopper
        # who sees CONFIRMED and checks out again never re-buys them. A failure here must not undo
        # a paid order: it only leaves the lines in the cart.
        clear = retried(step("ClearCart")).add_catch(confirm, errors=["States.ALL"], result_path="$.clear_cart_error")
        definition = (
            guarded(step("ValidateCart"))
            .next(guarded(step("ReserveStock")))
            .next(guarded(step("CreateOrder")))
            .next(guarded(step("CreatePaymentIntent")))
            .next(wait)
            .next(clear)
            .next(confirm)
            .next(guarded(step("CommitStock")))
            .next(done)
        )
        log_group = logs.LogGroup(
            self, "Logs", retention=config.log_retention, removal_policy=config.removal_policy or RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            state_machine_name=state_machine_name(self),
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # the longest a checkout can take: the payment window plus the steps around it
            timeout=Duration.seconds(config.payment_window_seconds + 3600),
            tracing_enabled=True,
            # every event, without execution data (addresses, tokens stay out of the logs)
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
