"""The OpenSearch domain (a derived copy of the catalog) in a private VPC.

The domain lives in the private VPC of infra/network.py (shared with the cache). Only the search
functions and the indexer get its functions' security group: they talk to nothing but the
domain (the stream is polled by the Lambda service, not the function), so the VPC needs no NAT.

Access is checked twice (docs/decisions/0009-search-fine-grained-access.md): IAM lets a role
reach the domain at all (`grant()`: es:ESHttp* on this domain only), and fine-grained access
control (the security plugin) says what it may do there: `grant()` also maps the function's role
to the OpenSearch roles of infra/search_security.py, which a custom resource applies on deploy.
The domain's master user is a dedicated role that only that custom resource runs as.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CustomResource, Duration, IAnyProducer, IResolveContext, Lazy, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import search_security
from infra.config import StageConfig
from infra.topology import Access

SECURITY_HANDLER_DIR = Path(__file__).resolve().parent / "search_security_handler"
# IAM role ARNs mapped to the operator role (ops/search_reindex.py, ops/replay_failures.py):
# `-c searchOperatorRoleArns=arn:aws:iam::<account>:role/<name>[,...]` or the same key in cdk.json.
OPERATOR_ROLES_CONTEXT = "searchOperatorRoleArns"


@jsii.implements(IAnyProducer)
class _Produce:
    """A value computed when the template is resolved: grant() calls come after the construct."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: IResolveContext) -> Any:
        return self._produce()


class SearchDomain(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.vpc = vpc  # infra/network.py: isolated subnets, no NAT
        self.functions_security_group = ec2.SecurityGroup(self, "FunctionsSg", vpc=self.vpc, description="search functions")
        domain_sg = ec2.SecurityGroup(self, "DomainSg", vpc=self.vpc, description="OpenSearch domain", allow_all_outbound=False)
        domain_sg.add_ingress_rule(self.functions_security_group, ec2.Port.tcp(443), "HTTPS from the search functions")
        slow_logs = logs.LogGroup(self, "SlowLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        app_logs = logs.LogGroup(self, "AppLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        # The master user: full control of the domain, including its security settings. Only the
        # SecurityRoles custom resource runs as it (operators are mapped to products_operator).
        self.admin_role = iam.Role(
            self,
            "AdminRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Search domain master user (FGAC): the role of the custom resource that applies its security roles",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                # CDK adds this only to roles it creates for a function: the handler runs in the VPC.
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole"),
            ],
        )
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
            # Fine-grained access control (needs the three settings above): IAM role ARNs are
            # backend roles, mapped to OpenSearch roles by the SecurityRoles custom resource.
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=self.admin_role.role_arn),
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
             "functions' security group; IAM (SigV4) authorises every request and fine-grained access control "
             "limits each role to its products* actions, so an IP allowlist adds nothing."),
            ("AwsSolutions::AwsSolutions-OS5", "Anonymous access is impossible: fine-grained access control is on "
             "(IAM master user, no internal users), requests need a SigV4 signature of a role granted es:ESHttp* on "
             "this domain and mapped to an OpenSearch role (see grant()), and the network path is VPC-only."),
            ("AwsSolutions::AwsSolutions-OS4", "dev runs one small data node (a derived, rebuildable index); prod has "
             "three dedicated masters."),
            ("AwsSolutions::AwsSolutions-OS7", "dev is single-AZ by design (the index is rebuilt from the table with "
             "ops/search_reindex); prod enables zone awareness across two AZs."),
        ):
            Validations.of(self.domain).acknowledge(Acknowledgment(id=finding, reason=reason))

        self._backend_roles: dict[str, list[str]] = {name: [] for name in search_security.ROLES}
        self._backend_roles[search_security.OPERATOR].extend(_context_list(self.node.try_get_context(OPERATOR_ROLES_CONTEXT)))
        self.security_roles = self._security_roles(config)

    def grant(self, function: lambda_.Function, access: Access) -> None:
        """IAM: reach this domain (only) with the HTTP verbs `access` needs; FGAC: map the function's
        role to the OpenSearch roles of `access` (infra/search_security.py)."""
        actions = ["es:ESHttpGet", "es:ESHttpPost"]
        if access is not Access.READ:
            actions += ["es:ESHttpPut", "es:ESHttpHead"]
        resource = f"{self.domain.domain_arn}/*"
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[resource]))
        if function.role is None:
            raise ValueError(f"{function.node.path} has no execution role to map")
        for name in search_security.ROLES_FOR_ACCESS[access]:
            if function.role.role_arn not in self._backend_roles[name]:
                self._backend_roles[name].append(function.role.role_arn)
        # Created only once its role is mapped, so it never runs against the domain unmapped (only
        # the CfnFunction: its role is what the custom resource reads, so depending on it would loop).
        function.node.default_child.node.add_dependency(self.security_roles)

    @property
    def role_mappings(self) -> dict[str, list[str]]:
        """OpenSearch role -> the IAM role ARNs (backend roles) mapped to it so far."""
        return {name: list(arns) for name, arns in self._backend_roles.items()}

    def _security_roles(self, config: StageConfig) -> CustomResource:
        """The custom resource that PUTs the OpenSearch roles and role mappings, as the master user."""
        self.admin_role.add_to_policy(
            iam.PolicyStatement(
                actions=["es:ESHttpPut", "es:ESHttpDelete"],
                resources=[f"{self.domain.domain_arn}/_plugins/_security/api/*"],
            )
        )
        handler = lambda_.Function(
            self,
            "SecurityRolesHandler",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.on_event",
            # standard library + botocore only: no layer
            code=lambda_.Code.from_asset(str(SECURITY_HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            role=self.admin_role,
            timeout=Duration.minutes(5),
            memory_size=256,
            description="Applies the search domain's OpenSearch security roles and role mappings (FGAC).",
            # In the VPC, in the functions' security group: the only way to reach the domain.
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.functions_security_group],
            log_group=logs.LogGroup(
                self, "SecurityRolesHandlerLogs", retention=config.log_retention, removal_policy=config.removal_policy
            ),
        )
        # The framework function (outside the VPC) invokes the handler and answers CloudFormation.
        provider = cr.Provider(
            self,
            "SecurityRolesProvider",
            on_event_handler=handler,
            log_group=logs.LogGroup(
                self, "SecurityRolesProviderLogs", retention=config.log_retention, removal_policy=config.removal_policy
            ),
        )
        stack = Stack.of(self)
        domain_id = stack.get_logical_id(self.domain.node.default_child)
        handler_id = stack.get_logical_id(handler.node.default_child)
        Validations.of(self.admin_role).acknowledge(Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{domain_id}.Arn>/_plugins/_security/api/*]",
            reason="The master user's IAM policy reaches only the security plugin's REST API of this domain "
            "(roles and role mappings, PUT/DELETE); the role names come from infra/search_security.py.",
        ))
        Validations.of(provider).acknowledge(Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
            reason="CDK's custom-resource framework may invoke any version of its one handler function "
            "(the search security-roles handler) and nothing else.",
        ))
        return CustomResource(
            self,
            "SecurityRoles",
            service_token=provider.service_token,
            resource_type="Custom::OpenSearchSecurityRoles",
            properties={
                "Endpoint": self.domain.domain_endpoint,
                "Roles": search_security.ROLES,
                "RoleMappings": Lazy.uncached_any(_Produce(lambda: self.role_mappings)),
            },
        )


def _context_list(value: Any) -> list[str]:
    """A context value given as a list, or as a comma-separated string (-c key=a,b)."""
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]
