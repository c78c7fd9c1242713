"""DynamoDB Streams records as Lambda receives them.

`GetRecords` (boto3) and Lambda's event differ: Lambda adds `eventSourceARN`, uses eventVersion
"1.1", integer `ApproximateCreationDateTime`, base64 binary values and a lower-case
`userIdentity`. The local stream poller and the replay command both need this one translation.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any


def to_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (as boto3 parsed it) in the shape Lambda passes to a function."""
    source = record["dynamodb"]
    ddb: dict[str, Any] = {}
    created = source.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    elif created is not None:
        ddb["ApproximateCreationDateTime"] = int(float(created))
    for image in ("Keys", "NewImage", "OldImage"):
        if image in source:
            ddb[image] = {name: _encode_attribute(value) for name, value in source[image].items()}
    ddb["SequenceNumber"] = source["SequenceNumber"]
    ddb["SizeBytes"] = int(source.get("SizeBytes", 0))
    ddb["StreamViewType"] = source.get("StreamViewType")
    lambda_record: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3] or record.get("awsRegion", "us-east-1"),
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:  # only TTL deletions carry one (see local.ttl)
        lambda_record["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return lambda_record


def wire_to_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as the Streams API puts it on the wire (binary values base64 strings, the
    creation time a datetime or epoch seconds) in Lambda's shape; nothing in it is shared with
    `record` (a handler may change its event)."""
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # moto keeps naive UTC datetimes
        created = (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()
    copied = json.loads(json.dumps({**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": created}}, default=_b64))
    return to_lambda_record(copied, stream_arn)


def _encode_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3 decodes B/BS to bytes; the Lambda event carries them base64-encoded, as on the wire."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BS":
        return {"BS": [_b64(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _encode_attribute(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_encode_attribute(v) for v in inner]}
    return {kind: inner}


def _b64(value: bytes | str) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")
