"""Create the template's Cognito user pools, app clients and groups in moto."""

from __future__ import annotations

from typing import Any

import boto3

from local.cfn import Deployment


def _pool_arguments(props: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key in ("Policies", "UsernameAttributes", "AutoVerifiedAttributes", "Schema", "AliasAttributes", "MfaConfiguration",
                "UserAttributeUpdateSettings"):
        if key in props:
            args[key] = props[key]
    return args


def deploy_user_pools(deployment: Deployment, endpoint: str) -> None:
    client = boto3.client("cognito-idp", endpoint_url=endpoint)
    for logical_id, resource in deployment.resources_of_type("AWS::Cognito::UserPool").items():
        props = deployment.resolve(resource.get("Properties", {}))
        pool = client.create_user_pool(PoolName=logical_id, **_pool_arguments(props))["UserPool"]
        deployment.physical_ids[logical_id] = pool["Id"]
        deployment.attributes[(logical_id, "Arn")] = pool["Arn"]
        deployment.attributes[(logical_id, "ProviderName")] = f"cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
    for logical_id, resource in deployment.resources_of_type("AWS::Cognito::UserPoolClient").items():
        props = deployment.resolve(resource.get("Properties", {}))
        created = client.create_user_pool_client(
            UserPoolId=props["UserPoolId"],
            ClientName=logical_id,
            GenerateSecret=bool(props.get("GenerateSecret", False)),
            ExplicitAuthFlows=props.get("ExplicitAuthFlows", []),
        )["UserPoolClient"]
        deployment.physical_ids[logical_id] = created["ClientId"]
    for logical_id, resource in deployment.resources_of_type("AWS::Cognito::UserPoolGroup").items():
        props = deployment.resolve(resource.get("Properties", {}))
        client.create_group(UserPoolId=props["UserPoolId"], GroupName=props["GroupName"])
        deployment.physical_ids[logical_id] = props["GroupName"]
