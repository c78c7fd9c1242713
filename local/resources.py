"""Create the template's DynamoDB tables and SQS queues on moto.

Physical names are the logical ids (see local.cfn), so every run of the local stack gets the
same names. After deployment, `Ref` and `Fn::GetAtt` resolve to what moto really created: the
table's name, Arn and StreamArn (moto's stream label is a timestamp, so it cannot be guessed),
and the queue's URL, Arn and QueueName.

Both functions are idempotent: a resource that already exists is described, not recreated,
so a second deploy onto the same moto server (or a test module re-using a session server)
just records the attributes again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from local.cfn import Deployment

logger = logging.getLogger(__name__)

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"

# CloudFormation index properties that the CreateTable API also accepts. Others
# (ContributorInsightsSpecification, ProvisionedThroughput under PAY_PER_REQUEST...) are dropped.
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


def deploy_tables(deployment: Deployment, dynamodb_client: Any) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the template; returns {logical_id: table_name}."""
    created: dict[str, str] = {}
    for logical_id in deployment.resources_of_type(TABLE_TYPE):
        props = deployment.resolve(deployment.properties(logical_id))
        table_name = logical_id
        description = _describe_table(dynamodb_client, table_name)
        if description is None:
            description = dynamodb_client.create_table(**_create_table_request(table_name, props))["TableDescription"]
            logger.info("created table %s", table_name)
        _enable_ttl(dynamodb_client, table_name, props.get("TimeToLiveSpecification"))

        deployment.physical_ids[logical_id] = table_name
        deployment.attributes[(logical_id, "Arn")] = description["TableArn"]
        if description.get("LatestStreamArn"):
            deployment.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]
        created[logical_id] = table_name
    return created


def _describe_table(client: Any, table_name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=table_name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None


def _create_table_request(table_name: str, props: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        # Capacity is irrelevant locally; on-demand avoids inventing throughput numbers.
        "BillingMode": "PAY_PER_REQUEST",
    }
    gsis = [_index(i) for i in props.get("GlobalSecondaryIndexes") or []]
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [_index(i) for i in props.get("LocalSecondaryIndexes") or []]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    tags = props.get("Tags")
    if tags:
        request["Tags"] = tags
    return request


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {key: index[key] for key in _INDEX_KEYS if key in index}


def _enable_ttl(client: Any, table_name: str, spec: dict[str, Any] | None) -> None:
    if not spec or not spec.get("Enabled"):
        return
    current = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") == "ENABLED" and current.get("AttributeName") == spec["AttributeName"]:
        return
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": True},
    )


# -- SQS ------------------------------------------------------------------------------------

# CloudFormation property -> SQS attribute name (values are sent as strings).
_QUEUE_ATTRIBUTES = {
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout": "VisibilityTimeout",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DeduplicationScope": "DeduplicationScope",
    "FifoThroughputLimit": "FifoThroughputLimit",
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
}


def deploy_queues(deployment: Deployment, sqs_client: Any) -> dict[str, str]:
    """Create every AWS::SQS::Queue of the template; returns {logical_id: queue_url}.

    Queues are created dead-letter queues first, because a RedrivePolicy must name the
    ARN of a queue that already exists.
    """
    created: dict[str, str] = {}
    for logical_id in _queues_in_dependency_order(deployment):
        props = deployment.properties(logical_id)
        fifo = _truthy(props.get("FifoQueue"))
        queue_name = f"{logical_id}.fifo" if fifo else logical_id
        attributes = _queue_attributes(deployment, props)
        try:
            queue_url = sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except sqs_client.exceptions.QueueDoesNotExist:
            request: dict[str, Any] = {"QueueName": queue_name, "Attributes": attributes}
            tags = {t["Key"]: str(t["Value"]) for t in deployment.resolve(props.get("Tags") or [])}
            if tags:
                request["tags"] = tags
            queue_url = sqs_client.create_queue(**request)["QueueUrl"]
            logger.info("created queue %s", queue_name)
        arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        deployment.physical_ids[logical_id] = queue_url  # Ref of a queue is its URL
        deployment.attributes[(logical_id, "Arn")] = arn
        deployment.attributes[(logical_id, "QueueName")] = queue_name
        deployment.attributes[(logical_id, "QueueUrl")] = queue_url
        created[logical_id] = queue_url
    return created


def _queue_attributes(deployment: Deployment, props: dict[str, Any]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for prop, attribute in _QUEUE_ATTRIBUTES.items():
        if prop in props:
            attributes[attribute] = _attribute_value(deployment.resolve(props[prop]))
    for prop in ("RedrivePolicy", "RedriveAllowPolicy"):
        if prop in props:
            value = deployment.resolve(props[prop])
            # CloudFormation takes an object, the SQS API a JSON string.
            attributes[prop] = value if isinstance(value, str) else json.dumps(value)
    # KmsMasterKeyId is left out on purpose: the key may not exist locally, and moto would not
    # encrypt anything anyway.
    return attributes


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _queues_in_dependency_order(deployment: Deployment) -> list[str]:
    queues = deployment.resources_of_type(QUEUE_TYPE)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered or logical_id in visiting:
            return
        visiting.add(logical_id)
        for dependency in _references(queues[logical_id].get("Properties", {})):
            if dependency in queues:
                visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in queues:
        visit(logical_id)
    return ordered


def _references(value: Any) -> set[str]:
    """Logical ids named by Ref / Fn::GetAtt anywhere inside `value`."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
            else:
                found |= _references(arg)
    return found
