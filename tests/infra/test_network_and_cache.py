"""The private network (infra/network.py) and the read-model cache (infra/cache.py) in the
synthesized template: ElastiCache Serverless in the isolated subnets, reachable only from the
functions the topology marks `cache=True`, and DynamoDB reachable from the VPC without a NAT."""

from __future__ import annotations

from typing import Any

import pytest

from infra.cache import CACHE_PORT
from infra.topology import all_routes, all_stream_consumers

from .conftest import Synth

pytestmark = pytest.mark.slow

CACHE_HANDLERS = {r.handler for r in all_routes() if r.cache} | {c.handler for c in all_stream_consumers() if c.cache}
SEARCH_HANDLERS = {r.handler for r in all_routes() if r.search} | {c.handler for c in all_stream_consumers() if c.search}


def _one(synth: Synth, cfn_type: str) -> tuple[str, dict[str, Any]]:
    resources = synth.of_type(cfn_type)
    assert len(resources) == 1, f"{len(resources)} {cfn_type}"
    [(logical_id, resource)] = resources.items()
    return logical_id, resource["Properties"]


def _our_functions(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        lid: f["Properties"]
        for lid, f in synth.of_type("AWS::Lambda::Function").items()
        if str(f["Properties"].get("Handler", "")).startswith("functions.")
    }


def _function(synth: Synth, handler: str) -> dict[str, Any]:
    [props] = [p for p in _our_functions(synth).values() if p["Handler"] == handler]
    return props


def _group_id(value: dict[str, Any]) -> str:
    """Logical id of the security group behind {"Fn::GetAtt": [sg, "GroupId"]}."""
    logical_id, attribute = value["Fn::GetAtt"]
    assert attribute == "GroupId"
    return logical_id


def _subnets(synth: Synth) -> dict[str, dict[str, Any]]:
    return synth.of_type("AWS::EC2::Subnet")


def test_the_cache_is_serverless_valkey_in_the_isolated_subnets(synth: Synth) -> None:
    # GIVEN the template's VPC and its subnets
    vpc_id, _ = _one(synth, "AWS::EC2::VPC")
    subnets = _subnets(synth)

    # WHEN the serverless cache is read
    _, cache = _one(synth, "AWS::ElastiCache::ServerlessCache")

    # THEN it is Valkey 8, named per stage, and lives in every subnet of the VPC (two AZs)...
    assert cache["Engine"] == "valkey"
    assert cache["MajorEngineVersion"] == "8"
    assert cache["ServerlessCacheName"] == f"shop-{synth.stage}-cache"
    assert sorted(s["Ref"] for s in cache["SubnetIds"]) == sorted(subnets)
    assert len(subnets) == 2
    assert {s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values()} == {0, 1}
    # ... which are isolated: in the VPC, no public IPs, no internet or NAT gateway anywhere
    for subnet in subnets.values():
        assert subnet["Properties"]["VpcId"] == {"Ref": vpc_id}
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert not synth.of_type("AWS::EC2::InternetGateway")
    assert not synth.of_type("AWS::EC2::NatGateway")
    assert not [r for r in synth.of_type("AWS::EC2::Route").values() if "GatewayId" in r["Properties"]]
    # AND its usage has a ceiling
    limits = cache["CacheUsageLimits"]
    assert limits["DataStorage"]["Unit"] == "GB" and limits["DataStorage"]["Maximum"] >= 1
    assert limits["ECPUPerSecond"]["Maximum"] >= 1000


def test_the_cache_accepts_only_6379_from_the_cache_functions_group(synth: Synth) -> None:
    # GIVEN the cache's security group
    _, cache = _one(synth, "AWS::ElastiCache::ServerlessCache")
    [cache_sg_ref] = cache["SecurityGroupIds"]
    cache_sg = _group_id(cache_sg_ref)
    functions_sg = synth.logical_id("Cache", "FunctionsSg")

    # WHEN every ingress rule into it is collected (inline and separate resources)
    inline = synth.resources[cache_sg]["Properties"].get("SecurityGroupIngress", [])
    separate = [
        rule["Properties"]
        for rule in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == cache_sg_ref
    ]

    # THEN there is exactly one: TCP 6379 from the functions' cache security group
    assert inline == []
    assert len(separate) == 1
    [rule] = separate
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", CACHE_PORT, CACHE_PORT) == ("tcp", 6379, 6379)
    assert _group_id(rule["SourceSecurityGroupId"]) == functions_sg
    assert "CidrIp" not in rule and "CidrIpv6" not in rule
    # AND the cache itself cannot open connections (no egress but CDK's "disallow all" placeholder)
    egress = synth.resources[cache_sg]["Properties"]["SecurityGroupEgress"]
    assert egress == [
        {"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic", "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}
    ]


@pytest.mark.parametrize(
    "handler",
    ["functions.catalog.handlers.get_product.handler", "functions.catalog.consumers.invalidate_cache.handler"],
    ids=["get_product", "cache_invalidator"],
)
def test_the_product_page_and_the_invalidator_reach_the_cache_over_tls(synth: Synth, handler: str) -> None:
    # GIVEN the cache and its functions' security group
    cache_id, cache = _one(synth, "AWS::ElastiCache::ServerlessCache")
    functions_sg = synth.logical_id("Cache", "FunctionsSg")

    # WHEN the function's network and environment are read
    props = _function(synth, handler)

    # THEN it runs in the cache's subnets with the cache functions' security group
    vpc_config = props["VpcConfig"]
    assert [_group_id(sg) for sg in vpc_config["SecurityGroupIds"]] == [functions_sg]
    assert sorted(s["Ref"] for s in vpc_config["SubnetIds"]) == sorted(s["Ref"] for s in cache["SubnetIds"])
    # AND its CACHE_URL is rediss://<endpoint address>:<endpoint port> (TLS, as Serverless requires)
    assert props["Environment"]["Variables"]["CACHE_URL"] == {
        "Fn::Join": [
            "",
            [
                "rediss://",
                {"Fn::GetAtt": [cache_id, "Endpoint.Address"]},
                ":",
                {"Fn::GetAtt": [cache_id, "Endpoint.Port"]},
            ],
        ]
    }


def test_exactly_the_search_and_cache_functions_join_the_vpc_with_their_groups(synth: Synth) -> None:
    # GIVEN the two functions' security groups and the topology's cache and search flags
    cache_sg = synth.logical_id("Cache", "FunctionsSg")
    search_sg = synth.logical_id("Search", "FunctionsSg")
    assert CACHE_HANDLERS >= {"functions.catalog.handlers.get_product.handler", "functions.catalog.consumers.invalidate_cache.handler"}

    for logical_id, props in _our_functions(synth).items():
        # WHEN each function's VPC config and environment are read
        handler = props["Handler"]
        groups = {_group_id(sg) for sg in props.get("VpcConfig", {}).get("SecurityGroupIds", [])}

        # THEN it has the cache group iff it uses the cache, the search group iff it uses search
        expected = ({cache_sg} if handler in CACHE_HANDLERS else set()) | ({search_sg} if handler in SEARCH_HANDLERS else set())
        assert groups == expected, (logical_id, handler)
        assert ("VpcConfig" in props) == bool(expected), (logical_id, handler)
        # AND only the cache functions are given the cache's URL (the others could not reach it)
        assert ("CACHE_URL" in props["Environment"]["Variables"]) == (handler in CACHE_HANDLERS), (logical_id, handler)


def test_dynamodb_is_reachable_from_every_subnet_through_a_gateway_endpoint(synth: Synth) -> None:
    # GIVEN the VPC's subnets and their route tables
    vpc_id, _ = _one(synth, "AWS::EC2::VPC")
    route_tables = {
        association["Properties"]["RouteTableId"]["Ref"]
        for association in synth.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if association["Properties"]["SubnetId"]["Ref"] in _subnets(synth)
    }
    assert len(route_tables) == 2

    # WHEN the VPC endpoints are read
    endpoints = synth.of_type("AWS::EC2::VPCEndpoint")

    # THEN there is a (free) gateway endpoint for DynamoDB on every subnet's route table
    dynamodb = [
        e["Properties"] for e in endpoints.values()
        if e["Properties"]["ServiceName"] == {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".dynamodb"]]}
    ]
    assert len(dynamodb) == 1
    [endpoint] = dynamodb
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["VpcId"] == {"Ref": vpc_id}
    assert {ref["Ref"] for ref in endpoint["RouteTableIds"]} == route_tables
    # AND the only (hourly-billed) interface endpoint is Secrets Manager's: the search function
    # reads the cursor signing key (ADR 0021; tests/infra/test_cursor_secret.py)
    interface = [e["Properties"] for e in endpoints.values() if e["Properties"].get("VpcEndpointType") != "Gateway"]
    assert [(e["VpcEndpointType"], e["ServiceName"]) for e in interface] == [
        ("Interface", {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".secretsmanager"]]})
    ]


def test_the_vpc_logs_its_flows_and_the_search_domain_uses_it(synth: Synth) -> None:
    # GIVEN the VPC
    vpc_id, _ = _one(synth, "AWS::EC2::VPC")

    # WHEN its flow logs and the search domain's network are read
    _, flow_log = _one(synth, "AWS::EC2::FlowLog")
    _, domain = _one(synth, "AWS::OpenSearchService::Domain")

    # THEN all its traffic is logged to CloudWatch Logs
    assert flow_log["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    # AND the domain sits in the same VPC's subnets
    assert {s["Ref"] for s in domain["VPCOptions"]["SubnetIds"]} <= set(_subnets(synth))


def test_the_availability_projector_retries_until_the_cache_is_back(synth: Synth) -> None:
    # GIVEN the event source mapping of the availability projector
    [function_id] = [lid for lid, props in _our_functions(synth).items()
                     if props["Handler"] == "functions.inventory.consumers.project_availability.handler"]
    [mapping] = [m["Properties"] for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
                 if m["Properties"]["FunctionName"] == {"Ref": function_id}]
    # THEN it never parks a batch while the records live (a parked batch would leave SKUs stale
    # behind a fresh watermark), and still has its on-failure queue for records that age out
    assert mapping["MaximumRetryAttempts"] == -1
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert mapping["BisectBatchOnFunctionError"] is True
