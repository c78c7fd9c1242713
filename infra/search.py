"""The OpenSearch domain (a derived copy of the catalog) in a private VPC.

Only the search functions and the indexer run in the VPC: they talk to nothing but the domain
(the stream is polled by the Lambda service, not the function), so the VPC needs no NAT.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.config import StageConfig
from infra.topology import Access


class SearchDomain(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="search", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
            flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))},
        )
        self.functions_security_group = ec2.SecurityGroup(self, "FunctionsSg", vpc=self.vpc, description="search functions")
        domain_sg = ec2.SecurityGroup(self, "DomainSg", vpc=self.vpc, description="OpenSearch domain", allow_all_outbound=False)
        domain_sg.add_ingress_rule(self.functions_security_group, ec2.Port.tcp(443), "HTTPS from the search functions")
        slow_logs = logs.LogGroup(self, "SlowLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        app_logs = logs.LogGroup(self, "AppLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        multi_az = config.name == "prod"
        self.domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.OPENSEARCH_3_7,
            vpc=self.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=self.vpc.isolated_subnets[: 2 if multi_az else 1])],
            security_groups=[domain_sg],
            capacity=opensearch.CapacityConfig(
                data_nodes=2 if multi_az else 1,
                data_node_instance_type="r7g.large.search" if multi_az else "t3.small.search",
                master_nodes=3 if multi_az else None,
                master_node_instance_type="m7g.large.search" if multi_az else None,
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=multi_az, availability_zone_count=2 if multi_az else None),
            ebs=opensearch.EbsOptions(volume_size=20 if multi_az else 10),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True, slow_search_log_group=slow_logs,
                slow_index_log_enabled=True, slow_index_log_group=slow_logs,
                app_log_enabled=True, app_log_group=app_logs,
            ),
            removal_policy=config.removal_policy,
        )
        self.endpoint_url = f"https://{self.domain.domain_endpoint}"
        for finding, reason in (
            ("AwsSolutions::AwsSolutions-OS3", "The domain is reachable only inside its private VPC, from the search "
             "functions' security group; IAM (SigV4) authorises every request, so an IP allowlist adds nothing."),
            ("AwsSolutions::AwsSolutions-OS5", "Anonymous access is impossible: requests need a SigV4 signature of a "
             "role granted es:ESHttp* on this domain (see grant()), and the network path is VPC-only."),
            ("AwsSolutions::AwsSolutions-OS4", "dev runs one small data node (a derived, rebuildable index); prod has "
             "three dedicated masters."),
            ("AwsSolutions::AwsSolutions-OS7", "dev is single-AZ by design (the index is rebuilt from the table with "
             "ops/search_reindex); prod enables zone awareness across two AZs."),
        ):
            Validations.of(self.domain).acknowledge(Acknowledgment(id=finding, reason=reason))

    def grant(self, function: lambda_.Function, access: Access) -> None:
        actions = ["es:ESHttpGet", "es:ESHttpPost"]
        if access is not Access.READ:
            actions += ["es:ESHttpPut", "es:ESHttpHead"]
        resource = f"{self.domain.domain_arn}/*"
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[resource]))
