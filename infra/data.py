"""DynamoDB tables from the topology: on-demand, PITR, encrypted, streams and TTL where used."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.config import StageConfig
from infra.topology import Table


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def create_table(scope: Construct, table: Table, config: StageConfig) -> dynamodb.Table:
    cdk_table = dynamodb.Table(
        scope,
        table.id,
        partition_key=_attribute(table.partition_key),
        sort_key=_attribute(table.sort_key) if table.sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if table.stream else None,
        time_to_live_attribute=table.ttl_attribute,
        deletion_protection=config.deletion_protection,
        removal_policy=config.removal_policy,
    )
    for index in table.indexes:
        cdk_table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition_key),
            sort_key=_attribute(index.sort_key) if index.sort_key else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return cdk_table
