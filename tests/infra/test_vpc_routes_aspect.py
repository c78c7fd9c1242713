"""infra/aspects.py VpcFunctionsHaveRoutes (ADR 0049): a function in the VPC that uses a service or
host without a VPC endpoint or a NAT route fails the synth; on small stacks, on the real app, and
on the real app with CartAddItem back in the VPC (the placement that timed out on AWS)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn

from infra.aspects import COGNITO_JWKS_HOST, USES_HOSTS_METADATA, VpcFunctionsHaveRoutes

from .conftest import Synth

NO_ROUTE = "runs in the VPC's subnets and uses"


def _errors(build: Callable[[cdk.Stack], None]) -> list[str]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-vpc-routes-"))
    stack = cdk.Stack(app, "VpcRoutesTest")
    build(stack)
    cdk.Aspects.of(app).add(VpcFunctionsHaveRoutes())
    found = assertions.Annotations.from_stack(stack).find_error("*", assertions.Match.any_value())
    return [str(message.entry.data) for message in found]


def _vpc(stack: cdk.Stack, nat: bool = False) -> ec2.Vpc:
    if nat:
        return ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=1)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0,
                  subnet_configuration=[ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    return vpc


def _function(stack: cdk.Stack, vpc: ec2.Vpc | None, construct_id: str = "Fn") -> lambda_.Function:
    placement = {"vpc": vpc, "vpc_subnets": ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets)} if vpc else {}
    return lambda_.Function(stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                            code=lambda_.Code.from_inline("def handler(e, c): pass"), **placement)


def _table(stack: cdk.Stack) -> dynamodb.Table:
    return dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING))


def _state_machine(stack: cdk.Stack) -> sfn.StateMachine:
    return sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Pass")))


def test_a_vpc_function_using_only_what_has_an_endpoint_passes() -> None:
    def build(stack: cdk.Stack) -> None:
        _table(stack).grant_read_write_data(_function(stack, _vpc(stack)))

    assert _errors(build) == []


def test_a_vpc_function_verifying_tokens_without_a_nat_fails() -> None:
    # GIVEN the old CartAddItem placement: isolated subnets, a DynamoDB endpoint, tokens verified with the JWKS
    def build(stack: cdk.Stack) -> None:
        function = _function(stack, _vpc(stack))
        _table(stack).grant_read_write_data(function)
        function.node.add_metadata(USES_HOSTS_METADATA, [COGNITO_JWKS_HOST])

    # THEN the synth reports it, naming the host and why
    [error] = _errors(build)
    assert NO_ROUTE in error and "cognito-idp JWKS" in error and "verifies tokens" in error


def test_a_vpc_function_granted_a_service_without_an_endpoint_fails() -> None:
    def build(stack: cdk.Stack) -> None:
        _state_machine(stack).grant_start_execution(_function(stack, _vpc(stack)))

    [error] = _errors(build)
    assert NO_ROUTE in error and "uses states (granted states:StartExecution)" in error


def test_an_interface_endpoint_routes_its_service() -> None:
    def build(stack: cdk.Stack) -> None:
        vpc = _vpc(stack)
        vpc.add_interface_endpoint("States", service=ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS)
        _state_machine(stack).grant_start_execution(_function(stack, vpc))

    assert _errors(build) == []


def test_a_nat_routes_everything_and_outside_the_vpc_nothing_is_checked() -> None:
    def build(stack: cdk.Stack) -> None:
        function = _function(stack, _vpc(stack, nat=True))
        function.node.add_metadata(USES_HOSTS_METADATA, [COGNITO_JWKS_HOST])
        _state_machine(stack).grant_start_execution(function)
        outside = _function(stack, None, "Outside")
        outside.node.add_metadata(USES_HOSTS_METADATA, [COGNITO_JWKS_HOST])

    assert _errors(build) == []


def _route_errors(assembly_dir: Path) -> list[str]:
    """The synth's errors about routes, from the cloud assembly (nested stacks report on the parent)."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    metadata: list[dict] = []
    for artifact in manifest.get("artifacts", {}).values():
        metadata.append(artifact.get("metadata") or {})
        if artifact.get("additionalMetadataFile"):
            metadata.append(json.loads((assembly_dir / artifact["additionalMetadataFile"]).read_text()))
    return [
        str(entry.get("data"))
        for entries_by_path in metadata
        for entries in entries_by_path.values()
        for entry in entries
        if entry.get("type") == "aws:cdk:error" and NO_ROUTE in str(entry.get("data"))
    ]


@pytest.mark.slow
def test_the_app_has_a_route_for_everything_its_vpc_functions_use(synth: Synth) -> None:
    assert _route_errors(synth.assembly_dir) == []


@pytest.mark.slow
def test_the_old_cart_add_item_placement_fails_the_synth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN the real app with POST /cart/items back in the VPC (cache=True, as before ADR 0049)
    import infra.stack
    from app import build_app

    def in_vpc(service):  # noqa: ANN001, ANN202
        if service.name != "cart":
            return service
        routes = tuple(dataclasses.replace(route, cache=True) if route.handler.endswith(".add_item.handler") else route
                       for route in service.routes)
        return dataclasses.replace(service, routes=routes)

    monkeypatch.setattr(infra.stack, "SERVICES", tuple(in_vpc(service) for service in infra.stack.SERVICES))
    app, _ = build_app(stage="dev", outdir=str(tmp_path))

    # WHEN it is synthesized
    assembly = app.synth()

    # THEN the synth reports CartAddItem's JWKS fetch, and nothing else
    [error] = _route_errors(Path(assembly.directory))
    assert error.startswith("CartAddItem runs in the VPC's subnets and uses cognito-idp JWKS")
