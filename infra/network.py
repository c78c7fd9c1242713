"""The private network of the functions that need a VPC resource (search domain, cache).

Isolated subnets only: no NAT gateway, no internet route. What runs here reaches the OpenSearch
domain and the cache through their security groups, and DynamoDB through a gateway endpoint
(free, no data-processing charge), and Secrets Manager through an interface endpoint (the cursor
secret). A function that needs any other AWS API (Cognito, SQS, Step Functions...) or any other
host (Cognito's JWKS, to verify tokens) must stay out of the VPC or get a route first: the synth
fails otherwise (infra/aspects.py VpcFunctionsHaveRoutes), and the local runtime refuses such
connections as AWS would (local/network.py; ADR 0049).
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StageConfig


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,  # ElastiCache Serverless needs subnets in at least two AZs
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
            flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))},
        )
        # Functions in the VPC (the product page reads the catalog and inventory tables) reach
        # DynamoDB through the route tables of the isolated subnets, without a NAT.
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint",
            service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        )

        # The search function signs its cursors with a key from Secrets Manager (shared/cursors.py):
        # an interface endpoint, reachable only from the security groups that are let in
        # (infra/functions.py: functions granted the cursor secret), not the whole VPC.
        self.secrets_manager_endpoint = self.vpc.add_interface_endpoint(
            "SecretsManagerEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=self.isolated_subnets,
            private_dns_enabled=True,
            open=False,
        )

    @property
    def isolated_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
