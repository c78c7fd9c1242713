"""Fine-grained access control on the search domain (infra/search.py, infra/search_security.py).

Checked on the real app's templates (dev and prod, synthesized once per session by conftest.py);
expectations come from infra/topology.py, so a new search route or consumer is covered as is.
"""

from __future__ import annotations

import tempfile
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from infra import search_security
from infra.config import stage_config
from infra.search import OPERATOR_ROLES_CONTEXT, SearchDomain
from infra.topology import Access, all_routes, all_stream_consumers
from local.cfn import Deployment, UnresolvableIntrinsic

from .conftest import Synth

SECURITY_ROLES_TYPE = "Custom::OpenSearchSecurityRoles"
SEARCH_USERS = [(r.handler, r.search) for r in all_routes() if r.search] + [
    (c.handler, c.search) for c in all_stream_consumers() if c.search
]


# --- helpers -----------------------------------------------------------------------------------

def _function_id(synth: Synth, handler: str) -> str:
    [logical_id] = [
        lid for lid, f in synth.of_type("AWS::Lambda::Function").items() if f["Properties"].get("Handler") == handler
    ]
    return logical_id


def _role_id(synth: Synth, function_id: str) -> str:
    return synth.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]


def _role_statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    """Every statement of the role's own policies (inline, and AWS::IAM::Policy attached to it)."""
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for inline in synth.resources[role_id]["Properties"].get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _security_roles(synth: Synth) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synth.of_type(SECURITY_ROLES_TYPE).items()
    return logical_id, resource


def _domain(synth: Synth) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synth.of_type("AWS::OpenSearchService::Domain").items()
    return logical_id, resource


# --- the domain --------------------------------------------------------------------------------

@pytest.mark.slow
def test_fine_grained_access_control_is_on_with_the_admin_role_as_master_user(synth: Synth) -> None:
    # GIVEN the domain and the admin role of the Search construct
    _, domain = _domain(synth)
    admin_role = synth.logical_id("Search", "AdminRole")

    # WHEN its security options are read
    props = domain["Properties"]
    security = props["AdvancedSecurityOptions"]

    # THEN FGAC is on, with IAM only (no internal users) and the admin role's ARN as master user
    assert security["Enabled"] is True
    assert security["InternalUserDatabaseEnabled"] is False
    assert security["MasterUserOptions"] == {"MasterUserARN": {"Fn::GetAtt": [admin_role, "Arn"]}}
    # AND what FGAC requires is still on: encryption at rest, node-to-node, HTTPS only
    assert props["EncryptionAtRestOptions"]["Enabled"] is True
    assert props["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True


@pytest.mark.slow
def test_the_master_user_is_only_the_custom_resource_handler_and_reaches_only_the_security_api(synth: Synth) -> None:
    # GIVEN the admin role and the functions that run as it
    admin_role = synth.logical_id("Search", "AdminRole")
    domain_id, _ = _domain(synth)
    runs_as_admin = [
        f for f in synth.of_type("AWS::Lambda::Function").values() if f["Properties"]["Role"] == {"Fn::GetAtt": [admin_role, "Arn"]}
    ]

    # THEN only the Lambda service can assume it, and only the security-roles handler runs as it
    [trust] = synth.resources[admin_role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert [f["Properties"]["Handler"] for f in runs_as_admin] == ["index.on_event"]
    # AND that handler runs in the search VPC, in the security group the domain admits on 443
    handler = runs_as_admin[0]["Properties"]
    functions_sg = synth.logical_id("Search", "FunctionsSg")
    assert handler["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [functions_sg, "GroupId"]}]
    # AND its role may write its logs and attach the function's network interfaces (AWS managed policies)
    managed = str(synth.resources[admin_role]["Properties"]["ManagedPolicyArns"])
    assert "service-role/AWSLambdaBasicExecutionRole" in managed and "service-role/AWSLambdaVPCAccessExecutionRole" in managed
    # AND its only OpenSearch permission is PUT/DELETE on the security plugin's REST API of this domain
    es_statements = [s for s in _role_statements(synth, admin_role) if any(a.startswith("es:") for a in _actions(s))]
    assert len(es_statements) == 1
    assert sorted(_actions(es_statements[0])) == ["es:ESHttpDelete", "es:ESHttpPut"]
    assert es_statements[0]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [domain_id, "Arn"]}, "/_plugins/_security/api/*"]]
    }


# --- the custom resource -----------------------------------------------------------------------

@pytest.mark.slow
def test_the_custom_resource_maps_each_search_functions_role_to_the_opensearch_roles_of_its_access(synth: Synth) -> None:
    # GIVEN the functions the topology gives search access, and their execution roles
    expected: dict[str, list[dict[str, Any]]] = {name: [] for name in search_security.ROLES}
    for handler, access in SEARCH_USERS:
        role_arn = {"Fn::GetAtt": [_role_id(synth, _function_id(synth, handler)), "Arn"]}
        for name in search_security.ROLES_FOR_ACCESS[access]:
            expected[name].append(role_arn)
    assert expected[search_security.READER] and expected[search_security.WRITER]

    # WHEN the custom resource's properties are read
    _, resource = _security_roles(synth)
    props = resource["Properties"]

    # THEN it gets the role definitions as data, the domain endpoint, and exactly those mappings:
    # the indexers' roles for products_writer, the search functions' roles for products_reader
    domain_id, _ = _domain(synth)
    assert props["Roles"] == search_security.ROLES
    assert props["Endpoint"] == {"Fn::GetAtt": [domain_id, "DomainEndpoint"]}
    assert {name: sorted(map(str, arns)) for name, arns in props["RoleMappings"].items()} == {
        name: sorted(map(str, arns)) for name, arns in expected.items()
    }
    indexer_role = {"Fn::GetAtt": [_role_id(synth, _function_id(synth, "functions.search.consumers.indexer.handler")), "Arn"]}
    assert indexer_role in props["RoleMappings"][search_security.WRITER]
    assert indexer_role not in props["RoleMappings"][search_security.READER]
    # AND nobody is an operator unless the deployment names them (context searchOperatorRoleArns)
    assert props["RoleMappings"][search_security.OPERATOR] == []


@pytest.mark.slow
def test_the_custom_resource_runs_through_a_provider_and_search_functions_wait_for_it(dev: Synth) -> None:
    # GIVEN the custom resource
    logical_id, resource = _security_roles(dev)

    # THEN its service token is a CDK Provider framework function, which invokes the VPC handler
    framework_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    framework = dev.resources[framework_id]["Properties"]
    assert framework["Handler"] == "framework.onEvent" and "VpcConfig" not in framework
    handler_id = _function_id(dev, "index.on_event")
    assert framework["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [handler_id, "Arn"]}
    # AND every function with search access is created after it (never runs against the domain unmapped)
    for handler, _ in SEARCH_USERS:
        assert logical_id in dev.resources[_function_id(dev, handler)].get("DependsOn", []), handler


@pytest.mark.slow
def test_no_function_other_than_the_search_users_and_the_master_user_has_opensearch_permissions(synth: Synth) -> None:
    # GIVEN every IAM role of the template
    roles = synth.of_type("AWS::IAM::Role")

    # WHEN the roles whose own policies allow any es: action are collected
    with_es = {
        role_id for role_id in roles
        if any(a.startswith("es:") for s in _role_statements(synth, role_id) if s["Effect"] == "Allow" for a in _actions(s))
    }

    # THEN they are exactly the search functions' roles and the master user
    expected = {_role_id(synth, _function_id(synth, handler)) for handler, _ in SEARCH_USERS}
    assert with_es == expected | {synth.logical_id("Search", "AdminRole")}
    # AND read-only functions cannot PUT, and nobody but the master user may DELETE
    for handler, access in SEARCH_USERS:
        actions = {a for s in _role_statements(synth, _role_id(synth, _function_id(synth, handler))) for a in _actions(s)}
        es_actions = {a for a in actions if a.startswith("es:")}
        assert "es:ESHttpDelete" not in es_actions and "es:*" not in es_actions, handler
        assert ("es:ESHttpPut" in es_actions) == (access is not Access.READ), handler


@pytest.mark.slow
def test_the_local_stack_runs_none_of_the_custom_resource_functions(dev: Synth) -> None:
    # GIVEN the template the local stack deploys onto moto (osmem-server has no security plugin),
    # with placeholders for the attributes the local stack fills in as it deploys (endpoints...)
    class Deployed(Deployment):
        def attribute(self, logical_id: str, attribute: str) -> str:
            try:
                return super().attribute(logical_id, attribute)
            except UnresolvableIntrinsic:
                return f"{logical_id}.{attribute}"

    deployment = Deployed(dev.template)

    # WHEN it lists the functions it runs in-process
    handlers = {spec.handler for spec in deployment.functions().values()}

    # THEN neither the provider framework nor the security-roles handler is among them
    assert handlers and all(handler.startswith("functions.") for handler in handlers)
    assert not {"index.on_event", "framework.onEvent"} & handlers


# --- grant() on a small stack ------------------------------------------------------------------

def _small_stack(context: dict[str, Any] | None = None) -> tuple[cdk.Stack, SearchDomain]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-search-security-"), context=context)
    stack = cdk.Stack(app, "SearchSecurity")
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0,
                  subnet_configuration=[ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    return stack, SearchDomain(stack, "Search", stage_config("dev"), vpc)


def _function(stack: cdk.Stack, construct_id: str) -> lambda_.Function:
    return lambda_.Function(stack, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                            code=lambda_.Code.from_inline("def handler(event, context): pass"))


def test_grants_made_after_the_construct_reach_the_custom_resource_once_each_with_the_operators() -> None:
    # GIVEN a search domain, and operator roles named in the deployment's context
    operators = ["arn:aws:iam::123456789012:role/SearchOps", "arn:aws:iam::123456789012:role/Oncall"]
    stack, search = _small_stack({OPERATOR_ROLES_CONTEXT: ",".join(operators)})
    reader, both = _function(stack, "Reader"), _function(stack, "Both")

    # WHEN functions are granted access after the construct was built (one of them twice)
    search.grant(reader, Access.READ)
    search.grant(reader, Access.READ)
    search.grant(both, Access.READ_WRITE)

    # THEN the synthesized custom resource maps each role once, to the OpenSearch roles of its access
    template = assertions.Template.from_stack(stack)
    [resource] = template.find_resources(SECURITY_ROLES_TYPE).values()
    mappings = resource["Properties"]["RoleMappings"]
    role = {name: {"Fn::GetAtt": [stack.get_logical_id(fn.role.node.default_child), "Arn"]} for name, fn in
            (("reader", reader), ("both", both))}
    assert mappings == {
        search_security.READER: [role["reader"], role["both"]],
        search_security.WRITER: [role["both"]],
        search_security.OPERATOR: operators,
    }
