"""Create the template's Secrets Manager secrets on moto, as CloudFormation would.

Every `AWS::SecretsManager::Secret` becomes a moto secret named after its `Name` property, or its
logical id (stable across runs). Its value:

- `SecretString`: that string;
- `GenerateSecretString`: a password from Secrets Manager's own GetRandomPassword (the options
  CloudFormation passes: PasswordLength (32), ExcludeCharacters, ExcludeLowercase,
  ExcludeNumbers, ExcludePunctuation, ExcludeUppercase, IncludeSpace, RequireEachIncludedType
  (true)); with `SecretStringTemplate` + `GenerateStringKey` the value is the template's JSON
  object with the password added under that key, as CloudFormation builds it.

`Ref` of a secret is its ARN (moto's, with the random 6-character suffix), as is `GetAtt Id`.

Idempotent: a secret that already exists on the moto server is described, not recreated, and
keeps its value (CloudFormation does not regenerate a password on update either); a changed
`SecretString` is written as a new version.

`set_webhook_secret` is the local stack's payment webhook knob: it puts
`{"current": <value>, "previous": ""}` into every secret that a function's
`PAYMENT_WEBHOOK_SECRET_ARN` names (functions/payments/signatures.py reads it).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from local.cfn import Deployment

logger = logging.getLogger(__name__)

SECRET_TYPE = "AWS::SecretsManager::Secret"
WEBHOOK_SECRET_ARN_VARIABLE = "PAYMENT_WEBHOOK_SECRET_ARN"

# GenerateSecretString property -> GetRandomPassword parameter (same names, same meaning).
_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)
_BOOLEAN_OPTIONS = {"ExcludeLowercase", "ExcludeNumbers", "ExcludePunctuation", "ExcludeUppercase", "IncludeSpace",
                    "RequireEachIncludedType"}


def deploy_secrets(deployment: Deployment, secretsmanager_client: Any) -> dict[str, str]:
    """Create every AWS::SecretsManager::Secret of the template; returns {logical_id: secret ARN}."""
    created: dict[str, str] = {}
    for logical_id in deployment.resources_of_type(SECRET_TYPE):
        props = deployment.resolve(deployment.properties(logical_id))
        name = str(props.get("Name") or logical_id)
        existing = _describe(secretsmanager_client, name)
        if existing is None:
            request: dict[str, Any] = {"Name": name, "SecretString": secret_string(secretsmanager_client, props)}
            if props.get("Description"):
                request["Description"] = str(props["Description"])
            tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]
            if tags:
                request["Tags"] = tags
            arn = secretsmanager_client.create_secret(**request)["ARN"]
            logger.info("created secret %s", name)
        else:
            arn = existing["ARN"]
            if "SecretString" in props:
                _put_if_changed(secretsmanager_client, arn, str(props["SecretString"]))
        deployment.physical_ids[logical_id] = arn  # Ref of a secret is its ARN
        deployment.attributes[(logical_id, "Id")] = arn
        created[logical_id] = arn
    return created


def secret_string(secretsmanager_client: Any, props: dict[str, Any]) -> str:
    """The value CloudFormation would give a new secret with these (resolved) properties."""
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString")
    if spec is None:
        # CloudFormation requires one of the two; CDK always writes one. An empty secret would
        # only fail later, inside a handler.
        raise ValueError("a secret needs SecretString or GenerateSecretString")
    options: dict[str, Any] = {"PasswordLength": 32, "RequireEachIncludedType": True}
    for option in _PASSWORD_OPTIONS:
        if option in spec:
            value = spec[option]
            if option in _BOOLEAN_OPTIONS:
                value = _truthy(value)
            elif option == "PasswordLength":
                value = int(value)
            else:
                value = str(value)
            options[option] = value
    password = secretsmanager_client.get_random_password(**options)["RandomPassword"]
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ValueError("GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither")
    document = json.loads(template) if isinstance(template, str) else dict(template)
    if not isinstance(document, dict):
        raise ValueError(f"SecretStringTemplate must be a JSON object, not {template!r}")
    document[str(key)] = password
    return json.dumps(document)


def webhook_secret_arns(deployment: Deployment) -> set[str]:
    """The secrets named by any function's PAYMENT_WEBHOOK_SECRET_ARN (resolved)."""
    arns: set[str] = set()
    for resource in deployment.resources_of_type("AWS::Lambda::Function").values():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        if WEBHOOK_SECRET_ARN_VARIABLE in variables:
            arns.add(str(deployment.resolve(variables[WEBHOOK_SECRET_ARN_VARIABLE])))
    return arns


def set_webhook_secret(deployment: Deployment, secretsmanager_client: Any, value: str) -> set[str]:
    """Make every webhook secret hold `{"current": value, "previous": ""}`; returns their ARNs."""
    if not value:
        raise ValueError("the payment webhook secret must not be empty")
    arns = webhook_secret_arns(deployment)
    secret = json.dumps({"current": value, "previous": ""})
    for arn in sorted(arns):
        if _describe(secretsmanager_client, arn) is None:
            # A secret the template only imports (Secret.from_secret_name_v2...): create it here,
            # under the name its (partial) ARN gives.
            name = arn.split(":secret:", 1)[1] if ":secret:" in arn else arn
            secretsmanager_client.create_secret(Name=name, SecretString=secret)
            logger.info("created imported secret %s for %s", name, WEBHOOK_SECRET_ARN_VARIABLE)
            continue
        _put_if_changed(secretsmanager_client, arn, secret)
    return arns


def _put_if_changed(client: Any, arn: str, value: str) -> None:
    try:
        current = client.get_secret_value(SecretId=arn).get("SecretString")
    except client.exceptions.ResourceNotFoundException:
        current = None
    if current != value:
        client.put_secret_value(SecretId=arn, SecretString=value)


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
