"""How every Lambda function of the system is built: one factory, the same defaults everywhere.

The factory builds into its `scope`: the parent stack's shared resources (tables, layers, user
pool, search domain...) are referenced from there, and CDK turns each reference from a service's
nested stack into a parameter of that stack (infra/services.py, ADR 0038).
"""

from __future__ import annotations

import copy

from aws_cdk import Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.aspects import COGNITO_JWKS_HOST, USES_HOSTS_METADATA
from infra.bundling import RUNTIME, functions_code
from infra.cache import ReadModelCache
from infra.config import StageConfig
from infra.media import ProductImages
from infra.network import Network
from infra.search import SearchDomain
from infra.shape import service_of
from infra.topology import Access, Table


class FunctionFactory:
    def __init__(
        self,
        scope: Construct,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        tables: dict[str, dynamodb.Table],
        environment: dict[str, str],
        user_pool: cognito.IUserPool,
        search: SearchDomain,
        images: ProductImages,
        network: Network,
        cache: ReadModelCache,
    ) -> None:
        self.scope = scope
        self.config = config
        self.layer = layer
        self.tables = tables
        self.environment = environment
        self.user_pool = user_pool
        self.search = search
        self.images = images
        self.network = network
        self.cache = cache
        # Set by the stack once the payments resources exist: the provider's secrets, and the
        # payments-only layer (the stripe SDK) when the stage's provider needs it.
        self.payment_secrets: dict = {}  # PaymentSecret -> [Secret]
        self.payment_secret_environment: dict = {}  # PaymentSecret -> {variable: ARN}
        self.payment_layers: list[lambda_.ILayerVersion] = []
        # Set by the stack: the key that signs list cursors (infra/cursors.py).
        self.cursor_secret = None
        # Set by the stack: PyJWT + cryptography, for the functions that verify tokens themselves.
        self.token_layers: list[lambda_.ILayerVersion] = []
        self._attach_by_ref: list[tuple[iam.IRole, iam.Role]] = []
        # functions/ only (shared/ comes from the layer), with Python 3.12 bytecode (infra/bundling.py).
        self.code = functions_code()

    def for_scope(self, scope: Construct) -> FunctionFactory:
        """The same factory (same shared resources and settings) building into `scope`: a service's
        nested stack (infra/services.py)."""
        factory = copy.copy(self)
        factory.scope = scope
        factory._attach_by_ref = []
        # CDK binds an asset to one stack; the same hash, so it is still staged and uploaded once.
        factory.code = functions_code()
        return factory

    def create(
        self,
        construct_id: str,
        handler: str,
        tables: tuple[tuple[Table, Access], ...] = (),
        user_pool_actions: tuple[str, ...] = (),
        search: Access | None = None,
        images: Access | None = None,
        cache: bool = False,
        timeout_seconds: int = 10,
        description: str = "",
        payment_secrets: tuple[str, ...] = (),
        environment: dict[str, str] | None = None,
        cursors: bool = False,
        verifies_tokens: bool = False,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self.scope,
            f"{construct_id}Logs",
            retention=self.config.log_retention,
            removal_policy=self.config.removal_policy,
        )
        function = lambda_.Function(
            self.scope,
            construct_id,
            role=self._search_role(construct_id) if search else None,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=self.code,
            layers=[
                self.layer,
                *(self.token_layers if verifies_tokens else []),
                *(self.payment_layers if payment_secrets else []),
            ],
            memory_size=self.config.lambda_memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={**self._environment(cache), **self._cursor_environment(cursors), **self._secret_environment(payment_secrets), **(environment or {}),
                         **self._service_environment(handler)},
            description=description[:256],
            **self._network_for(search=bool(search), cache=cache),
        )
        if verifies_tokens:
            # What it reaches besides its grants: Cognito's public JWKS host (infra/aspects.py
            # VpcFunctionsHaveRoutes checks that a VPC function has a route to it; ADR 0049).
            function.node.add_metadata(USES_HOSTS_METADATA, [COGNITO_JWKS_HOST])
        if search:
            self.search.grant(function, search)
        if images:
            # Uploads only under products/: the presigned POST is signed with this role.
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[self.images.bucket.arn_for_objects("products/*")])
            )
        for table, access in tables:
            cdk_table = self.tables[table.id]
            # Least privilege: each function gets exactly the access its definition names.
            if access is Access.READ:
                cdk_table.grant_read_data(function)
            elif access is Access.WRITE:
                cdk_table.grant_write_data(function)
            else:
                cdk_table.grant_read_write_data(function)
        if user_pool_actions:
            self.user_pool.grant(function, *user_pool_actions)
        for kind in payment_secrets:
            for secret in self.payment_secrets.get(kind, []):
                secret.grant_read(function)
        if cursors:
            # Least privilege: only the functions that paginate can read the signing key.
            self.cursor_secret.grant_read(function)
            if search or cache:  # in the VPC: Secrets Manager through its endpoint
                self.network.secrets_manager_endpoint.connections.allow_default_port_from(function)
        return function

    def _search_role(self, construct_id: str) -> iam.IRole | None:
        """The execution role of a function that reaches the search domain, when the function is
        built in another stack than the domain (a service's nested stack); None otherwise (CDK
        makes the role beside the function, as for every other function).

        The domain's custom resource maps each such role to its OpenSearch roles, and the function
        is created only after that mapping (infra/search.py grant()): with the role beside the
        function, the parent's custom resource would refer to the nested stack that depends on it,
        a cycle. So the role is made in the domain's stack (no permissions but the AWS-managed
        logging and VPC-attachment policies), and the function's stack attaches its grants to it
        as a policy of its own (an imported, mutable role), which also keeps the function's
        queues and other nested resources out of the parent.
        """
        domain_stack = Stack.of(self.search)
        if Stack.of(self.scope) is domain_stack:
            return None
        role = iam.Role(
            domain_stack,
            f"{construct_id}ServiceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}: mapped to the search domain's roles (infra/search.py)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                # CDK adds this only to the roles it makes for a function: search functions run in the VPC.
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole"),
            ],
        )
        imported = iam.Role.from_role_arn(self.scope, f"{construct_id}ServiceRole", role.role_arn, mutable=True)
        # The function's grants (tracing first, at creation) land in the imported role's own policy;
        # it names the role by its Ref rather than by a name cut out of the ARN.
        self._attach_by_ref.append((imported, role))
        return imported

    def attach_policies(self) -> None:
        """After every grant: each imported search role's policy (in this factory's stack) is
        attached to its role by the role's Ref (CDK would cut the name out of the ARN)."""
        for imported, role in self._attach_by_ref:
            policy = imported.node.try_find_child("Policy")
            if policy is not None:
                policy.node.default_child.roles = [role.role_name]

    def _cursor_environment(self, cursors: bool) -> dict[str, str]:
        if not cursors:
            return {}
        if self.cursor_secret is None:
            raise ValueError("a function that paginates needs the stack's cursor secret (FunctionFactory.cursor_secret)")
        return {"CURSOR_SECRET_ARN": self.cursor_secret.secret_arn}
    def _secret_environment(self, payment_secrets: tuple[str, ...]) -> dict[str, str]:
        """Only the secrets' names this function may read (least privilege: the webhook secret
        reaches the verifier and the sandbox signer, the provider's API key its callers)."""
        environment: dict[str, str] = {}
        for kind in payment_secrets:
            environment.update(self.payment_secret_environment.get(kind, {}))
        return environment

    def _environment(self, cache: bool) -> dict[str, str]:
        """The stage's variables; CACHE_URL (rediss://, ElastiCache Serverless) only for the
        functions that can reach the cache. Without it shared/cache.py uses no cache, instead of
        each call waiting for a connection that the network would never let through."""
        environment = dict(self.environment)
        if cache:
            environment["CACHE_URL"] = self.cache.url
        return environment

    @staticmethod
    def _service_environment(handler: str) -> dict[str, str]:
        """The function's service, from its handler (functions.<service>...): powertools' Logger
        writes it on every log line and shared/metrics.py makes it the `service` dimension, so
        logs and metrics say which service wrote them (infra/monitoring.py alarms on the same)."""
        return {"POWERTOOLS_SERVICE_NAME": service_of(handler)}

    def _network_for(self, *, search: bool, cache: bool) -> dict:
        """Functions that use the search domain or the cache run in the private VPC, with the
        security group each of those lets in; only those functions: a VPC function reaches
        nothing but the VPC's resources and DynamoDB (infra/network.py)."""
        groups = []
        if search:
            groups.append(self.search.functions_security_group)
        if cache:
            groups.append(self.cache.functions_security_group)
        if not groups:
            return {}
        return {"vpc": self.network.vpc, "vpc_subnets": self.network.isolated_subnets, "security_groups": groups}
