"""cdk-nag (AwsSolutions) with every suppression justified here, in one place."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Names, NestedStack, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.media import ProductImages

# (finding id, why it is acceptable). cdk-nag 3 matches the full finding id, e.g. "IAM5[Resource::*]".
ACKNOWLEDGED: list[tuple[str, str]] = [
    (
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "Lambda functions use AWSLambdaBasicExecutionRole: an AWS-maintained policy that only "
        "allows writing the function's own logs.",
    ),
    (
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-level logging role needs exactly this AWS-maintained policy.",
    ),
    (
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
        "Functions in the search VPC need exactly this AWS-maintained policy to attach their network interfaces.",
    ),
    (
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level scoping.",
    ),
    (
        "AwsSolutions::AwsSolutions-L1",
        "Python 3.12 is the runtime this project targets and tests against (its wheels are "
        "bundled for it); moving runtimes is a deliberate, tested change, not a lint fix.",
    ),
    (
        "AwsSolutions::AwsSolutions-APIG2",
        "Request bodies are validated in each handler with field-level errors in the "
        "contract's envelope; API Gateway models would duplicate that and answer in another shape.",
    ),
    (
        "AwsSolutions::AwsSolutions-APIG4",
        "Only the routes marked Auth.PUBLIC in infra/topology.py (catalog browsing, sign-up, "
        "login, webhooks verified by signature) and Auth.OPTIONAL (the cart, open to guests; a token, "
        "if sent, is verified in the handler) skip the authorizer; every other route uses Cognito.",
    ),
    (
        "AwsSolutions::AwsSolutions-COG4",
        "Same public routes as AwsSolutions-APIG4; all other methods use the Cognito authorizer.",
    ),
    (
        "AwsSolutions::AwsSolutions-COG2",
        "MFA is optional (TOTP) for shoppers: requiring it would block guest-to-customer "
        "conversion; admins are expected to enrol (an operational policy).",
    ),
]


# Wildcards that CDK grants (or our own narrowly scoped statements) put on a resource's ARN:
# (construct type, how to reach the resource, ARN suffix, why it is acceptable).
RESOURCE_WILDCARDS = [
    (dynamodb.Table, lambda table: table, "/index/*",
     "CDK's table grants include the table's own indexes (table/<name>/index/*): scoped to one table, "
     "needed to query its GSIs."),
    (opensearch.Domain, lambda domain: domain, "/*",
     "Index paths of one domain (products alias and its versioned indices, _bulk, _search): scoped to "
     "this domain; OpenSearch IAM cannot name indices that reindexing creates later."),
    (lambda_.Function, lambda function: function, ":*",
     "Step Functions' Lambda integration is granted the function and its versions (<function ARN>:*): "
     "scoped to one function the checkout saga invokes."),
    (ProductImages, lambda images: images.bucket, "/products/*",
     "s3:PutObject only, only under products/ of the images bucket: the presigned upload names a fresh "
     "key per image, so the key cannot be known when the policy is written."),
]


def add_suppressions(stack: Stack) -> None:
    """ACKNOWLEDGED on the whole stack (its nested stacks included), and each RESOURCE_WILDCARDS
    resource's own finding. A statement names the resource by `<LogicalId.Arn>` in the resource's
    own stack; in a nested stack (a service's, ADR 0038) by the parameter CDK passes the ARN in,
    `<referencetoShopdevCatalogTable1A2B3C4DArn>`: acknowledged on each nested stack, for what
    lies outside it."""
    acknowledged = list(ACKNOWLEDGED)
    wildcards = []  # (the CloudFormation resource, ARN suffix, reason)
    for construct in stack.node.find_all():
        for construct_type, resource_of, suffix, reason in RESOURCE_WILDCARDS:
            if isinstance(construct, construct_type):
                wildcards.append((resource_of(construct).node.default_child, suffix, reason))
    for resource, suffix, reason in wildcards:
        logical_id = Stack.of(resource).get_logical_id(resource)
        acknowledged.append((f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>{suffix}]", reason))
    Validations.of(stack).acknowledge(*(Acknowledgment(id=finding_id, reason=reason) for finding_id, reason in acknowledged))
    for nested in (node for node in stack.node.find_all() if isinstance(node, NestedStack)):
        passed_in = [
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_parameter_of(resource)}>{suffix}]", reason=reason)
            for resource, suffix, reason in wildcards if Stack.of(resource) is not nested
        ]
        if passed_in:
            Validations.of(nested).acknowledge(*passed_in)


def _parameter_of(resource: Construct) -> str:
    """The parameter through which CDK passes `resource`'s Arn into a nested stack
    (core's refs: "reference-to-" + the resource's unique id + the attribute, alphanumerics only)."""
    return f"referenceto{Names.node_unique_id(resource.node)}Arn"
