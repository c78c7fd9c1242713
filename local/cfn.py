"""Read a synthesized CloudFormation template and resolve its intrinsics to local names.

The local stack "deploys" the template onto moto: each resource gets a physical id (its logical
id, which is unique and stable), and `Ref` / `Fn::GetAtt` / `Fn::Join` / `Fn::Sub` resolve to the
local names and ARNs, so handlers see the same environment variables they get in AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"

PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::NoValue": None,
}


class UnresolvableIntrinsic(ValueError):
    """The template uses an intrinsic or reference the local stack cannot resolve."""


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function of the template, as the local runtime needs it."""

    logical_id: str
    handler: str  # "functions.catalog.handlers.list_categories.handler"
    environment: dict[str, str]
    timeout: int
    memory_size: int
    # The template gives it a VpcConfig: it runs in the VPC's subnets (local/network.py).
    in_vpc: bool = False

    @property
    def name(self) -> str:
        return self.logical_id


@dataclass
class Deployment:
    """A template plus the physical ids and attributes of its locally created resources."""

    template: dict[str, Any]
    physical_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    # -- reading the template -------------------------------------------------------------
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == resource_type}

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    # -- resolving intrinsics ---------------------------------------------------------------
    def physical_id(self, logical_id: str) -> str:
        if logical_id in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[logical_id]  # type: ignore[return-value]
        if logical_id not in self.resources:
            raise UnresolvableIntrinsic(f"Ref to unknown resource {logical_id!r}")
        return self.physical_ids.get(logical_id, logical_id)

    def attribute(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        resource = self.resources.get(logical_id)
        if resource is None:
            raise UnresolvableIntrinsic(f"GetAtt on unknown resource {logical_id!r}")
        if attribute == "Arn":
            return default_arn(resource["Type"], self.physical_id(logical_id))
        raise UnresolvableIntrinsic(f"GetAtt {logical_id}.{attribute} is not known locally")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value` (recursively)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.physical_id(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, source = arg
                return str(self.resolve(source)).split(separator)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key.startswith("Fn::"):
                raise UnresolvableIntrinsic(f"{key} is not supported by the local stack")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved_vars = {k: str(self.resolve(v)) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved_vars:
                return resolved_vars[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.attribute(logical_id, attribute)
            return str(self.physical_id(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # -- typed views ------------------------------------------------------------------------
    def functions(self) -> dict[str, FunctionSpec]:
        """Every Lambda function of the template that runs one of our Python handlers."""
        specs = {}
        for logical_id, resource in self.resources_of_type("AWS::Lambda::Function").items():
            props = resource.get("Properties", {})
            handler = props.get("Handler", "")
            if not handler.startswith(("functions.", "tests.")):
                continue  # CDK's own helper functions (custom resources), not ours
            env = props.get("Environment", {}).get("Variables", {})
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=handler,
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
                in_vpc=bool(props.get("VpcConfig")),
            )
        return specs


def default_arn(resource_type: str, physical_id: str) -> str:
    prefix = f"arn:{PARTITION}"
    region_account = f"{REGION}:{ACCOUNT_ID}"
    match resource_type:
        case "AWS::DynamoDB::Table":
            return f"{prefix}:dynamodb:{region_account}:table/{physical_id}"
        case "AWS::Lambda::Function":
            return f"{prefix}:lambda:{region_account}:function:{physical_id}"
        case "AWS::SQS::Queue":
            return f"{prefix}:sqs:{region_account}:{physical_id}"
        case "AWS::SNS::Topic":
            return f"{prefix}:sns:{region_account}:{physical_id}"
        case "AWS::StepFunctions::StateMachine":
            return f"{prefix}:states:{region_account}:stateMachine:{physical_id}"
        case "AWS::IAM::Role":
            return f"{prefix}:iam::{ACCOUNT_ID}:role/{physical_id}"
        case "AWS::Events::EventBus":
            return f"{prefix}:events:{region_account}:event-bus/{physical_id}"
        case "AWS::Events::Rule":
            return f"{prefix}:events:{region_account}:rule/{physical_id}"
        case "AWS::SecretsManager::Secret":
            return f"{prefix}:secretsmanager:{region_account}:secret:{physical_id}"
        case "AWS::Cognito::UserPool":
            return f"{prefix}:cognito-idp:{region_account}:userpool/{physical_id}"
        case "AWS::KMS::Key":
            return f"{prefix}:kms:{region_account}:key/{physical_id}"
        case "AWS::S3::Bucket":
            return f"{prefix}:s3:::{physical_id.lower()}"
        case _:
            return f"{prefix}:local:{region_account}:{resource_type}/{physical_id}"
