"""The cursor signing secret (infra/cursors.py): readable by exactly the functions that paginate."""

from __future__ import annotations

from typing import Any

from infra.topology import all_routes
from tests.infra.conftest import Synth


def _mentions(value: Any, logical_id: str) -> bool:
    if isinstance(value, dict):
        return value.get("Ref") == logical_id or any(_mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, logical_id) for v in value)
    return False


def _cursor_secret(synth: Synth) -> str:
    secrets = [lid for lid, r in synth.of_type("AWS::SecretsManager::Secret").items() if "cursor" in r["Properties"].get("Description", "").lower()]
    assert len(secrets) == 1, secrets
    return secrets[0]


def _functions_that_can_read(synth: Synth, secret: str) -> set[str]:
    roles = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in actions and _mentions(statement["Resource"], secret):
                roles |= {role["Ref"] for role in policy["Properties"]["Roles"]}
    return {
        lid for lid, function in synth.of_type("AWS::Lambda::Function").items()
        if function["Properties"]["Role"].get("Fn::GetAtt", [None])[0] in roles
    }


def _paginating_functions(synth: Synth) -> set[str]:
    return {synth.logical_id(route.function_id) for route in all_routes() if route.cursors}


def test_only_the_functions_that_paginate_can_read_the_cursor_secret(synth: Synth) -> None:
    # GIVEN the synthesized stage and the routes the topology marks as paginating
    secret = _cursor_secret(synth)
    paginating = _paginating_functions(synth)
    assert len(paginating) == 5  # products, reviews, search, orders, seller orders
    # THEN exactly those functions may read the secret, and only they are told its ARN
    assert _functions_that_can_read(synth, secret) == paginating
    told = {
        lid for lid, function in synth.of_type("AWS::Lambda::Function").items()
        if "CURSOR_SECRET_ARN" in (function["Properties"].get("Environment") or {}).get("Variables", {})
    }
    assert told == paginating


def test_the_cursor_secret_is_generated_as_current_and_previous_keys(synth: Synth) -> None:
    generated = synth.resources[_cursor_secret(synth)]["Properties"]["GenerateSecretString"]
    assert (generated["SecretStringTemplate"], generated["GenerateStringKey"]) == ('{"previous": ""}', "current")
    assert generated["PasswordLength"] >= 32


def test_the_search_function_reaches_secrets_manager_through_a_closed_vpc_endpoint(synth: Synth) -> None:
    # GIVEN the Secrets Manager interface endpoint of the private VPC
    endpoints = [r for r in synth.of_type("AWS::EC2::VPCEndpoint").values() if r["Properties"].get("VpcEndpointType") == "Interface"]
    assert len(endpoints) == 1 and "secretsmanager" in str(endpoints[0]["Properties"]["ServiceName"])
    assert endpoints[0]["Properties"]["PrivateDnsEnabled"] is True
    endpoint_group = endpoints[0]["Properties"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    # THEN it lets in HTTPS from the security groups of the VPC functions that paginate only
    search_function = synth.resources[synth.logical_id("SearchSearch")]
    search_groups = {g["Fn::GetAtt"][0] for g in search_function["Properties"]["VpcConfig"]["SecurityGroupIds"]}
    allowed = {
        ingress["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for ingress in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if ingress["Properties"]["GroupId"]["Fn::GetAtt"][0] == endpoint_group
    }
    inline = synth.resources[endpoint_group]["Properties"].get("SecurityGroupIngress") or []
    assert inline == [] and allowed and allowed <= search_groups
