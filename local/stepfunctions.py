"""Deploy a template's Lambda functions and Step Functions state machines onto moto.

moto's Step Functions interpreter calls Lambda tasks through moto's Lambda API, so every function
of the template is created there too (with a dummy zip: `local.moto_patches` makes moto run the
real handler in-process through the registered `LambdaRuntime`). The state machine definitions are
the ones CDK synthesized, with their intrinsics resolved to the local ARNs.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.cfn import REGION, Deployment
from local.lambda_runtime import LambdaRuntime
from local.moto_patches import apply_moto_patches, get_lambda_runtime, set_lambda_runtime

ROLE_NAME = "local-deployment-role"
LAMBDA_RUNTIME = "python3.12"

_ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _dummy_zip() -> bytes:
    # moto stores the code but never runs it: the handler runs in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process via local.lambda_runtime\n")
    return buffer.getvalue()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def ensure_role(endpoint: str, role_name: str = ROLE_NAME) -> str:
    """An IAM role in moto (moto's Lambda refuses a role that does not exist); returns its ARN."""
    iam = _client("iam", endpoint)
    try:
        return iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_ASSUME_ROLE_POLICY)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return iam.get_role(RoleName=role_name)["Role"]["Arn"]


def deploy_functions(deployment: Deployment, endpoint: str, role_arn: str) -> dict[str, str]:
    """One moto Lambda function per template function (name = logical id); returns name -> ARN."""
    lambda_client = _client("lambda", endpoint)
    code = _dummy_zip()
    arns: dict[str, str] = {}
    for lid, spec in deployment.functions().items():
        config = {
            "Runtime": LAMBDA_RUNTIME,
            "Role": role_arn,
            "Handler": spec.handler,
            "Timeout": spec.timeout,
            "MemorySize": spec.memory_size,
            "Environment": {"Variables": dict(spec.environment)},
        }
        try:
            arn = lambda_client.create_function(FunctionName=lid, Code={"ZipFile": code}, **config)["FunctionArn"]
        except ClientError as exc:
            # Redeploying onto the same (session-wide) moto server: update in place.
            if exc.response["Error"]["Code"] != "ResourceConflictException":
                raise
            arn = lambda_client.update_function_configuration(FunctionName=lid, **config)["FunctionArn"]
        deployment.physical_ids[lid] = lid  # Ref of a function is its name
        deployment.attributes[(lid, "Arn")] = arn
        arns[lid] = arn
    return arns


def resolve_definition(deployment: Deployment, properties: dict[str, Any]) -> str:
    """The ASL JSON of a state machine, with intrinsics and DefinitionSubstitutions resolved."""
    if "DefinitionString" in properties:
        definition = deployment.resolve(properties["DefinitionString"])
    elif "Definition" in properties:
        definition = json.dumps(deployment.resolve(properties["Definition"]))
    else:
        raise ValueError("state machine has neither DefinitionString nor Definition")
    if not isinstance(definition, str):
        definition = json.dumps(definition)
    # CloudFormation replaces ${name} placeholders with DefinitionSubstitutions.
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        resolved = deployment.resolve(value)
        definition = definition.replace("${" + name + "}", str(resolved))
    json.loads(definition)  # fail here, not inside moto, if the result is not JSON
    return definition


def deploy_state_machines(deployment: Deployment, endpoint: str, role_arn: str) -> dict[str, str]:
    """Create every AWS::StepFunctions::StateMachine (its StateMachineName, else its logical id);
    returns logical id -> ARN. Functions may name a machine's ARN by its fixed name."""
    sfn = _client("stepfunctions", endpoint)
    arns: dict[str, str] = {}
    for lid, resource in deployment.resources_of_type("AWS::StepFunctions::StateMachine").items():
        properties = resource.get("Properties", {})
        definition = resolve_definition(deployment, properties)
        name = str(deployment.resolve(properties.get("StateMachineName") or lid))
        try:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type="STANDARD")[
                "stateMachineArn"
            ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineAlreadyExists":
                raise
            arn = next(
                sm["stateMachineArn"]
                for sm in sfn.list_state_machines()["stateMachines"]
                if sm["name"] == name
            )
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        deployment.physical_ids[lid] = arn  # Ref of a state machine is its ARN
        deployment.attributes[(lid, "Arn")] = arn
        deployment.attributes[(lid, "Name")] = name
        arns[lid] = arn
    return arns


def deploy_functions_and_state_machines(deployment: Deployment, runtime: LambdaRuntime, endpoint: str) -> None:
    """Create the template's functions and state machines in moto; Lambda tasks run via `runtime`."""
    apply_moto_patches()  # idempotent; the in-process invoke and the interpreter depend on it
    if get_lambda_runtime() is not runtime:
        set_lambda_runtime(runtime)
    role_arn = ensure_role(endpoint)
    deploy_functions(deployment, endpoint, role_arn)
    # Functions first: definitions reference their ARNs.
    deploy_state_machines(deployment, endpoint, role_arn)
