"""The synthesized CloudFormation template of the real app, checked against infra/topology.py.

Every expectation is derived from the topology (routes, tables, stream consumers) or the stage
config, so a new route or table is covered without touching these tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import stage_config
from infra.handlers import deployed_handlers
from infra.identity import ACCESS_TOKEN_SCOPE
from infra.topology import Access, Auth, Route, all_routes, all_tables

from .conftest import ROOT, Synth

pytestmark = pytest.mark.slow

ROUTES = all_routes()
ROUTE_IDS = [f"{route.method} {route.path}" for route in ROUTES]
TABLES = all_tables()
LOG_RETENTION_DAYS = {"dev": 7, "prod": 90}
DYNAMODB_WRITE_ACTIONS = {
    "dynamodb:*",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
}
MAX_LAYER_BYTES = 18 * 1024 * 1024  # issue 14: every megabyte is cold-start time
MAX_TOKENS_LAYER_BYTES = 20 * 1024 * 1024
# The first 8 bytes of a .pyc that CPython 3.12 loads without looking at the source: its magic
# number, then the flags word 0b01 (hash-based, do not check the source: infra/bundling.py).
PY312_UNCHECKED_PYC = (3531).to_bytes(2, "little") + b"\r\n" + (1).to_bytes(4, "little")
EM_AARCH64 = 183  # ELF e_machine of arm64 shared objects


# --- helpers -----------------------------------------------------------------------------------

def our_functions(synth) -> dict:
    """The system's own functions; CDK adds helper functions of its own (e.g. the custom
    resource that locks down the VPC's default security group), which are not ours to test."""
    return {
        lid: f for lid, f in synth.of_type("AWS::Lambda::Function").items()
        if str(f["Properties"].get("Handler", "")).startswith("functions.")
    }

def _api_paths(synth: Synth) -> dict[str, str]:
    """API Gateway Resource logical id -> full path ("/api/v1/categories")."""
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            parent_path = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{parent_path}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> the Method's properties (CORS OPTIONS methods excluded)."""
    paths = _api_paths(synth)
    methods = {}
    for resource in synth.of_type("AWS::ApiGateway::Method").values():
        props = resource["Properties"]
        resource_id = props["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource_id else paths[resource_id["Ref"]]
        if props["HttpMethod"] != "OPTIONS":
            methods[(props["HttpMethod"], path)] = props
    return methods


def _get_atts(value: Any) -> list[list[str]]:
    """Every Fn::GetAtt inside a template value."""
    if isinstance(value, dict):
        found = [value["Fn::GetAtt"]] if "Fn::GetAtt" in value else []
        return found + [att for item in value.values() for att in _get_atts(item)]
    if isinstance(value, list):
        return [att for item in value for att in _get_atts(item)]
    return []


def _function_id(synth: Synth, handler: str) -> str:
    matches = [
        logical_id
        for logical_id, function in our_functions(synth).items()
        if function["Properties"]["Handler"] == handler
    ]
    assert len(matches) == 1, f"expected one function with handler {handler}, found {matches}"
    return matches[0]


def _statements(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    """Every policy statement attached to a function's execution role (inline policies)."""
    role = synth.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for inline in synth.resources[role]["Properties"].get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        if statement["Effect"] == "Allow":
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


def _route(method: str, path: str) -> Route:
    return next(route for route in ROUTES if route.method == method and route.path == path)


# --- API ---------------------------------------------------------------------------------------
def test_the_api_has_exactly_the_topology_routes(dev: Synth) -> None:
    # GIVEN the routes of infra/topology.py
    expected = {(route.method, route.path) for route in ROUTES}

    # WHEN the API Gateway methods of the synthesized template are listed
    methods = set(_methods(dev))

    # THEN every route is a method on its path, and there is no method the topology does not name
    assert methods == expected


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_each_route_invokes_its_own_function_with_the_right_authorization(dev: Synth, route: Route) -> None:
    # GIVEN a route of the topology
    # WHEN its API Gateway method is looked up by HTTP method and path
    method = _methods(dev)[(route.method, route.path)]

    # THEN it proxies to the Lambda function whose handler the route names
    assert method["Integration"]["Type"] == "AWS_PROXY"
    function_id = _function_id(dev, route.handler)
    assert [function_id, "Arn"] in _get_atts(method["Integration"]["Uri"])
    # ... which API Gateway invokes with the API's invoke role, whose policy allows exactly it
    role_id = dev.logical_id("Http", "InvokeRole")
    assert method["Integration"]["Credentials"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert dev.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    invocable = [
        resource
        for policy in dev.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "lambda:InvokeFunction"
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    ]
    assert {"Fn::GetAtt": [function_id, "Arn"]} in invocable
    # AND private routes require a Cognito access token, public ones nothing
    if route.auth is not Auth.USER:
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    else:
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["AuthorizationScopes"] == [ACCESS_TOKEN_SCOPE] == ["aws.cognito.signin.user.admin"]
        authorizer = dev.resources[method["AuthorizerId"]["Ref"]]["Properties"]
        assert authorizer["Type"] == "COGNITO_USER_POOLS"
        assert authorizer["ProviderARNs"] == [{"Fn::GetAtt": [dev.logical_id("Identity", "UserPool"), "Arn"]}]


def test_the_stage_is_throttled_traced_and_access_logged(synth: Synth) -> None:
    # GIVEN the stage's configuration
    config = stage_config(synth.stage)

    # WHEN the API Gateway stage is read from the template
    stages = synth.of_type("AWS::ApiGateway::Stage")
    assert len(stages) == 1
    stage = next(iter(stages.values()))["Properties"]

    # THEN it is named after the stage, throttled to the configured limits for every method
    assert stage["StageName"] == synth.stage
    by_path = {(m["HttpMethod"], m["ResourcePath"]): m for m in stage["MethodSettings"]}
    settings = by_path[("*", "/*")]
    assert settings["ThrottlingRateLimit"] == config.api_rate_limit > 0
    assert settings["ThrottlingBurstLimit"] == config.api_burst_limit >= config.api_rate_limit
    # AND sign-in, the brute-force target, has a tighter limit of its own
    login = by_path[("POST", "/~1api~1v1~1auth~1login")]
    assert 0 < login["ThrottlingRateLimit"] < settings["ThrottlingRateLimit"]
    # AND request bodies (passwords, addresses) are never logged
    assert settings["DataTraceEnabled"] is False
    assert stage["TracingEnabled"] is True
    # AND access logs go to a log group with a retention
    access_logs = stage["AccessLogSetting"]
    log_group_id, attribute = access_logs["DestinationArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    assert synth.resources[log_group_id]["Type"] == "AWS::Logs::LogGroup"
    assert synth.resources[log_group_id]["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS[synth.stage]
    assert "$context.requestId" in access_logs["Format"] and "$context.status" in access_logs["Format"]


# --- functions ---------------------------------------------------------------------------------
def test_there_is_one_function_per_route_stream_consumer_and_scheduled_job(dev: Synth) -> None:
    # GIVEN the handlers the topology names: routes, stream consumers, jobs, the notification
    # queue's consumer and the saga's steps (infra/handlers.py, which other checks walk too)
    expected = sorted(handler for handler, _ in deployed_handlers())

    # WHEN the template's Lambda functions are listed
    handlers = sorted(function["Properties"]["Handler"] for function in our_functions(dev).values())

    # THEN there is exactly one function per handler
    assert handlers == expected


def test_every_function_is_arm64_python312_traced_with_the_layer_logs_and_table_names(synth: Synth) -> None:
    # GIVEN the shared layer and the topology's tables
    layer_id = synth.logical_id("Shared", "Layer")
    table_refs = {table.env_var: {"Ref": synth.logical_id(table.id)} for table in TABLES}
    functions = our_functions(synth)
    assert functions

    for logical_id, function in functions.items():
        # WHEN each Lambda function's properties are read
        props = function["Properties"]

        # THEN it runs Python 3.12 on Graviton with the shared layer and active tracing
        assert props["Runtime"] == "python3.12", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert {"Ref": layer_id} in props["Layers"], logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        # AND it logs to its own log group, which has a retention
        log_group = synth.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup", logical_id
        assert log_group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS[synth.stage], logical_id
        # AND it reads every table's name from its environment variable
        variables = props["Environment"]["Variables"]
        for env_var, ref in table_refs.items():
            assert variables.get(env_var) == ref, (logical_id, env_var)
        assert variables["STAGE"] == synth.stage


def test_the_layer_is_built_for_arm64_python312(dev: Synth) -> None:
    # GIVEN the shared layer
    # WHEN its template resource is read
    layer = dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]

    # THEN it declares the runtime and architecture the functions use
    assert layer["CompatibleRuntimes"] == ["python3.12"]
    assert layer["CompatibleArchitectures"] == ["arm64"]


# --- least privilege ---------------------------------------------------------------------------
def test_the_get_categories_role_cannot_write_and_the_post_one_can(dev: Synth) -> None:
    # GIVEN the two category routes: a public read and an admin write
    get_route = _route("GET", "/api/v1/categories")
    post_route = _route("POST", "/api/v1/categories")

    # WHEN the actions their execution roles allow are collected
    get_actions = _actions(_statements(dev, _function_id(dev, get_route.handler)))
    post_actions = _actions(_statements(dev, _function_id(dev, post_route.handler)))

    # THEN the reader can read but not write, and the writer can write
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= get_actions
    assert "dynamodb:PutItem" not in get_actions
    assert not get_actions & DYNAMODB_WRITE_ACTIONS
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= post_actions


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_each_function_gets_exactly_the_table_access_its_route_names(dev: Synth, route: Route) -> None:
    # GIVEN a route and the tables (and access) it declares
    allowed_tables = {dev.logical_id(table.id) for table, _ in route.tables}
    can_write = any(access is not Access.READ for _, access in route.tables)

    # WHEN the DynamoDB statements of its function's role are collected
    statements = [
        statement
        for statement in _statements(dev, _function_id(dev, route.handler))
        if any(action.startswith("dynamodb:") for action in _actions([statement]))
    ]

    # THEN they only name the route's tables (and their indexes), never "*"
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources
        assert {att[0] for att in _get_atts(resources)} <= allowed_tables
    # AND write actions are granted if and only if the route declares write access
    actions = _actions(statements)
    assert bool(actions & DYNAMODB_WRITE_ACTIONS) is can_write
    if route.tables:
        assert "dynamodb:GetItem" in actions


# --- tables ------------------------------------------------------------------------------------
def test_the_template_has_exactly_the_topology_tables(dev: Synth) -> None:
    # GIVEN the topology's tables
    expected = {dev.logical_id(table.id) for table in TABLES}

    # WHEN the template's DynamoDB tables are listed
    # THEN they are the same tables
    assert set(dev.of_type("AWS::DynamoDB::Table")) == expected


@pytest.mark.parametrize("table", TABLES, ids=[table.id for table in TABLES])
def test_each_table_is_on_demand_recoverable_encrypted_with_its_keys_and_indexes(dev: Synth, table) -> None:
    # GIVEN a topology table
    # WHEN its template resource is read
    props = dev.resources[dev.logical_id(table.id)]["Properties"]

    # THEN it is on-demand, has point-in-time recovery and server-side encryption
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    # AND its key schema and global secondary indexes are the topology's
    expected_keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        expected_keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys
    expected_indexes = {}
    for index in table.indexes:
        keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        expected_indexes[index.name] = keys
    indexes = {gsi["IndexName"]: gsi for gsi in props.get("GlobalSecondaryIndexes", [])}
    assert {name: gsi["KeySchema"] for name, gsi in indexes.items()} == expected_indexes
    assert all(gsi["Projection"]["ProjectionType"] == "ALL" for gsi in indexes.values())
    # AND streams and TTL are on exactly when the topology asks for them
    if table.stream:
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    else:
        assert "StreamSpecification" not in props
    if table.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_prod_retains_and_protects_its_data(prod: Synth) -> None:
    # GIVEN the prod stage
    # WHEN its tables, user pool and log groups are read
    tables = [prod.resources[prod.logical_id(table.id)] for table in TABLES]
    user_pool = prod.resources[prod.logical_id("Identity", "UserPool")]
    log_groups = prod.of_type("AWS::Logs::LogGroup").values()

    # THEN deleting the stack (or replacing a resource) keeps them, and deleting them is refused
    for table in tables:
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert (user_pool["DeletionPolicy"], user_pool["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert user_pool["Properties"]["DeletionProtection"] == "ACTIVE"
    assert log_groups and all(group["DeletionPolicy"] == "Retain" for group in log_groups)


def test_dev_can_be_torn_down(dev: Synth) -> None:
    # GIVEN the dev stage
    # WHEN its tables, user pool and log groups are read
    tables = [dev.resources[dev.logical_id(table.id)] for table in TABLES]
    user_pool = dev.resources[dev.logical_id("Identity", "UserPool")]
    log_groups = dev.of_type("AWS::Logs::LogGroup").values()

    # THEN nothing is retained or deletion-protected
    for table in tables:
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Delete", "Delete")
        assert table["Properties"].get("DeletionProtectionEnabled", False) is False
    assert user_pool["DeletionPolicy"] == "Delete"
    assert user_pool["Properties"].get("DeletionProtection", "INACTIVE") == "INACTIVE"
    assert all(group["DeletionPolicy"] == "Delete" for group in log_groups)


# --- identity ----------------------------------------------------------------------------------
def test_the_user_pool_has_the_role_groups_and_a_strong_password_policy(synth: Synth) -> None:
    # GIVEN the Cognito resources of the stage
    pools = synth.of_type("AWS::Cognito::UserPool")
    groups = synth.of_type("AWS::Cognito::UserPoolGroup").values()

    # WHEN the pool and its groups are read
    assert len(pools) == 1
    [(pool_id, pool)] = pools.items()

    # THEN the roles are groups of that pool
    assert sorted(group["Properties"]["GroupName"] for group in groups) == ["admin", "customer", "seller"]
    assert all(group["Properties"]["UserPoolId"] == {"Ref": pool_id} for group in groups)
    # AND passwords are at least 12 characters with every character class
    policy = pool["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[key] is True for key in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert pool["Properties"]["UsernameAttributes"] == ["email"]


def test_the_app_client_uses_password_and_refresh_auth_without_a_secret(synth: Synth) -> None:
    # GIVEN the stage's app clients
    clients = synth.of_type("AWS::Cognito::UserPoolClient")

    # WHEN the API's client is read
    assert len(clients) == 1
    client = next(iter(clients.values()))["Properties"]

    # THEN it allows USER_PASSWORD_AUTH and refresh tokens, has no secret and hides unknown users
    assert {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= set(client["ExplicitAuthFlows"])
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]
    assert client["GenerateSecret"] is False
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["UserPoolId"] == {"Ref": synth.logical_id("Identity", "UserPool")}


# --- assets ------------------------------------------------------------------------------------
def _tree_size(directory) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file() and not path.is_symlink())


def test_the_layer_has_shared_and_its_dependencies_but_not_what_the_runtime_provides(dev: Synth) -> None:
    # GIVEN the staged (bundled) layer asset
    layer = dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]
    site_packages = dev.asset_dir_for(layer["Content"]) / "python"

    # WHEN its top-level entries are listed
    entries = {path.name for path in site_packages.iterdir()}

    # THEN it has the shared package (all of it) and the requirements, pydantic's native core included
    assert {"shared", "pydantic", "pydantic_core", "aws_lambda_powertools", "pynamodb"} <= entries
    assert {path.name for path in (site_packages / "shared").glob("*.py")} == {
        path.name for path in (ROOT / "shared").glob("*.py")
    }
    # AND not boto3/botocore and their dependencies, which the Lambda runtime already has
    assert not entries & {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil"}
    assert not [name for name in entries if name.startswith(("boto3-", "botocore-"))]
    # AND not what only the tokens layer's functions need, nor the X-Ray SDK (no Tracer is created)
    assert not entries & {"jwt", "cryptography", "cffi", "aws_xray_sdk", "wrapt"}, sorted(entries)


def _bytecode_problems(directory, *, sources: bool) -> list[str]:
    """Every .pyc under directory that Python 3.12 would not load as is, and (sources=True) every
    .py without its __pycache__ bytecode; (sources=False) every .py that has a .pyc beside it."""
    problems = [str(pyc) for pyc in directory.rglob("*.pyc") if pyc.read_bytes()[:8] != PY312_UNCHECKED_PYC]
    problems += [str(pyc) for pyc in directory.rglob("*.pyc") if pyc.parent.name == "__pycache__" and ".cpython-312." not in pyc.name]
    for source in directory.rglob("*.py"):
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        if sources and not compiled.is_file():
            problems.append(f"{source}: no bytecode")
        if not sources and source.with_suffix(".pyc").is_file():
            problems.append(f"{source}: shipped twice")
    return problems


def test_the_layer_ships_python312_bytecode_that_lambda_never_recompiles(dev: Synth) -> None:
    # GIVEN the staged layer asset
    layer = dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]
    site_packages = dev.asset_dir_for(layer["Content"]) / "python"

    # WHEN its bytecode is read
    # THEN shared/ (our code) has its sources and, for each, 3.12 bytecode that needs no source check
    # (Lambda's read-only filesystem would otherwise compile it on every cold start)
    assert not _bytecode_problems(site_packages / "shared", sources=True)
    # AND the third-party packages ship that bytecode instead of their sources
    third_party = [path for path in site_packages.iterdir() if path.is_dir() and path.name != "shared"]
    assert [path for path in third_party if path.name == "pydantic"] and (site_packages / "pydantic" / "main.pyc").is_file()
    for package in third_party:
        assert not _bytecode_problems(package, sources=False), package.name


def test_the_layer_is_under_18_mb_unzipped(dev: Synth) -> None:
    # GIVEN the staged layer asset
    layer = dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]

    # WHEN its files are added up
    size = _tree_size(dev.asset_dir_for(layer["Content"]))

    # THEN it stays well under Lambda's limits (every megabyte is cold-start time)
    assert 0 < size < MAX_LAYER_BYTES, f"layer is {size / 1e6:.1f} MB unzipped"


def test_the_layer_native_extensions_are_built_for_arm64(dev: Synth) -> None:
    # GIVEN the staged layer asset and functions that run on arm64
    layer = dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]
    extensions = list(dev.asset_dir_for(layer["Content"]).rglob("*.so"))
    assert any("pydantic_core" in path.parts for path in extensions)

    # WHEN each shared object's ELF header is read
    machines = {}
    for path in extensions:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", path
        machines[path.name] = int.from_bytes(header[18:20], "little")

    # THEN every one is an aarch64 binary for CPython 3.12 (an x86_64 wheel would fail to import)
    assert set(machines.values()) == {EM_AARCH64}, machines
    assert all("cpython-312" in name for name in machines if ".cpython-" in name), sorted(machines)


def test_the_function_asset_is_the_functions_package_only(dev: Synth) -> None:
    # GIVEN the code of every Lambda function
    codes = {function["Properties"]["Code"]["S3Key"] for function in our_functions(dev).values()}

    # WHEN the staged asset is listed
    assert len(codes) == 1, "all functions share one code asset"
    asset = dev.asset_dir_for({"S3Key": codes.pop()})
    entries = sorted(path.name for path in asset.iterdir())

    # THEN it holds the functions/ package and nothing else (no shared/, tests, .venv, .git, dotfiles)
    assert entries == ["functions"]
    # AND every module has its 3.12 bytecode beside it, which Lambda loads without recompiling
    assert not _bytecode_problems(asset, sources=True)
    # AND every handler's module is in it
    for function in our_functions(dev).values():
        module = function["Properties"]["Handler"].rsplit(".", 1)[0]
        assert (asset / (module.replace(".", "/") + ".py")).is_file(), module


def test_partner_usage_plan_throttles_and_caps_the_stage(dev: Synth) -> None:
    [plan] = dev.of_type("AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"]["RateLimit"] > 0 and props["Quota"]["Period"] == "DAY"
    assert props["ApiStages"] and props["ApiStages"][0]["Stage"]


def test_identity_functions_get_only_the_cognito_actions_they_name(dev: Synth) -> None:
    from infra.topology import all_routes

    for route in all_routes():
        policies = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in dev.of_type("AWS::IAM::Policy").values()
            if any(role.get("Ref", "").startswith(route.function_id) for role in r["Properties"].get("Roles", []))
        ]
        actions = set()
        for statements in policies:
            for statement in statements:
                for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
                    actions.add(action)
        cognito_actions = {a for a in actions if a.startswith("cognito-idp:")}
        assert cognito_actions == set(route.user_pool_actions), route.handler


def test_search_domain_is_private_encrypted_and_only_search_and_cache_functions_join_its_vpc(dev: Synth) -> None:
    from infra.topology import all_routes, all_stream_consumers

    [domain] = dev.of_type("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]
    assert props["EncryptionAtRestOptions"]["Enabled"] is True
    assert props["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["VPCOptions"]["SubnetIds"]
    assert not dev.of_type("AWS::EC2::NatGateway")  # isolated subnets: nothing leaves the VPC
    # The VPC (infra/network.py) is shared with the cache: tests/infra/test_network_and_cache.py checks who is in which group.
    vpc_handlers = {r.handler for r in all_routes() if r.search or r.cache}
    vpc_handlers |= {c.handler for c in all_stream_consumers() if c.search or c.cache}
    for function in our_functions(dev).values():
        in_vpc = "VpcConfig" in function["Properties"]
        assert in_vpc == (function["Properties"]["Handler"] in vpc_handlers), function["Properties"]["Handler"]


def test_images_bucket_is_private_and_served_only_through_cloudfront(dev: Synth) -> None:
    buckets = dev.of_type("AWS::S3::Bucket")
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    [distribution] = dev.of_type("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["Origins"][0]["OriginAccessControlId"]
    assert config["Logging"]["Bucket"]
    # Only the image-upload function may write, and only under products/.
    from infra.topology import all_routes

    writers = {r.handler for r in all_routes() if r.images}
    assert writers == {"functions.catalog.handlers.create_image_upload.handler"}


def test_the_api_invoke_role_may_invoke_the_route_functions_and_nothing_else(dev: Synth) -> None:
    # GIVEN the API's invoke role (ADR 0031: one role, no Lambda::Permission per method)
    role_id = dev.logical_id("Http", "InvokeRole")

    # WHEN every function its policies let it invoke is collected
    invocable = {
        resource["Fn::GetAtt"][0]
        for policy in dev.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }

    # THEN they are exactly the functions behind the API's methods, and nothing else grants API Gateway
    behind_methods = {
        _function_behind(method)
        for method in dev.of_type("AWS::ApiGateway::Method").values()
        if method["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    }
    assert invocable == behind_methods
    assert not [p for p in dev.of_type("AWS::Lambda::Permission").values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]


def _function_behind(method: dict) -> str:
    [function_id] = [ref[0] for ref in _get_atts(method["Properties"]["Integration"]["Uri"]) if ref[1] == "Arn"]
    return function_id


def test_only_the_functions_that_verify_tokens_get_the_tokens_layer(synth: Synth) -> None:
    # GIVEN the tokens layer (PyJWT + cryptography) and the routes open to guests (Auth.OPTIONAL),
    # whose handlers verify a sent token themselves
    tokens_layer = {"Ref": synth.logical_id("TokensLayer", "Layer")}
    verifying = {route.handler for route in all_routes() if route.auth is Auth.OPTIONAL}
    assert len(verifying) == 5

    # WHEN each function's layers are read
    with_tokens = {f["Properties"]["Handler"] for f in our_functions(synth).values() if tokens_layer in f["Properties"]["Layers"]}

    # THEN exactly those functions get it, after the shared layer (it relies on nothing else)
    assert with_tokens == verifying
    for function in our_functions(synth).values():
        layers = function["Properties"]["Layers"]
        if tokens_layer in layers:
            assert layers.index({"Ref": synth.logical_id("Shared", "Layer")}) < layers.index(tokens_layer)


def test_the_tokens_layer_has_pyjwt_with_arm64_cryptography_and_nothing_the_shared_layer_has(dev: Synth) -> None:
    # GIVEN the staged tokens and shared layer assets
    tokens = dev.asset_dir_for(dev.resources[dev.logical_id("TokensLayer", "Layer")]["Properties"]["Content"])
    shared = dev.asset_dir_for(dev.resources[dev.logical_id("Shared", "Layer")]["Properties"]["Content"])

    # WHEN their top-level entries are listed
    entries = {path.name for path in (tokens / "python").iterdir()}
    in_shared = {path.name for path in (shared / "python").iterdir()}

    # THEN the tokens layer has jwt and cryptography (native code for arm64), compiled for 3.12
    assert {"jwt", "cryptography"} <= entries
    extensions = list(tokens.rglob("*.so"))
    assert extensions and all(path.read_bytes()[18:20] == EM_AARCH64.to_bytes(2, "little") for path in extensions)
    assert not _bytecode_problems(tokens / "python" / "jwt", sources=False)
    # AND nothing of the shared layer (two copies in /opt/python would overwrite each other), under budget
    assert not entries & in_shared
    assert 0 < _tree_size(tokens) < MAX_TOKENS_LAYER_BYTES


def test_the_search_stock_sync_hears_every_stock_bucket_of_a_hot_sku(dev: Synth) -> None:
    import json

    # GIVEN the search stock sync's event source mapping
    function_id = _function_id(dev, "functions.search.consumers.stock_sync.handler")
    [mapping] = [m["Properties"] for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
                 if m["Properties"]["FunctionName"] == {"Ref": function_id}]
    # THEN its filter passes the stock item and a hot SKU's other buckets (STOCK#nn, ADR 0022),
    # and nothing else of the inventory table (holds, ledger, heartbeat)
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert patterns == [{"dynamodb": {"Keys": {"sk": {"S": ["STOCK", {"prefix": "STOCK#"}]}}}}]
