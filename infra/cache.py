"""The read-model cache: ElastiCache Serverless (Valkey) in the private VPC.

Serverless: no nodes to size, it scales with the load and bills per use, encrypted at rest
and in transit (TLS is mandatory, hence `rediss://`). Only the functions marked `cache=True` in
the topology join its security group; the cache accepts 6379 from that group and nothing else.
Locally a redis-server stands in (local/services.py) and CACHE_URL is overridden.
"""

from __future__ import annotations

from aws_cdk import Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from infra.config import StageConfig

CACHE_PORT = 6379


class ReadModelCache(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.functions_security_group = ec2.SecurityGroup(
            self, "FunctionsSg", vpc=vpc, description="functions that use the read-model cache"
        )
        self.security_group = ec2.SecurityGroup(
            self, "CacheSg", vpc=vpc, description="ElastiCache Serverless (read-model cache)", allow_all_outbound=False
        )
        self.security_group.add_ingress_rule(
            self.functions_security_group, ec2.Port.tcp(CACHE_PORT), "Valkey (TLS) from the cache functions"
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            major_engine_version="8",
            # Unique per account and region, lowercase, at most 40 characters: one per stage.
            serverless_cache_name=f"{Stack.of(self).stack_name}-cache".lower()[:40],
            description=f"Product and availability read models ({config.name})",
            security_group_ids=[self.security_group.security_group_id],
            subnet_ids=subnets.subnet_ids,
            # A ceiling on what a runaway writer can cost; the read models are a few MB.
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=config.cache_max_data_gb
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=config.cache_max_ecpu_per_second
                ),
            ),
        )
        # Derived data, rebuilt from the tables on misses: no snapshots, and nothing to retain
        # when the stack goes (a retained cache would only keep billing).
        self.cache.apply_removal_policy(RemovalPolicy.DESTROY)
        self.endpoint_address = self.cache.attr_endpoint_address
        self.endpoint_port = self.cache.attr_endpoint_port

    @property
    def url(self) -> str:
        """CACHE_URL for the functions: TLS (`rediss://`), which ElastiCache Serverless requires."""
        return Fn.join("", ["rediss://", self.endpoint_address, ":", Token.as_string(self.endpoint_port)])
