"""Create the template's EventBridge buses and event-pattern rules on moto.

- `AWS::Events::EventBus` -> CreateEventBus (name: the `Name` property, else the logical id).
  `Ref` = the name, `GetAtt Arn` / `GetAtt Name` as in CloudFormation.
- `AWS::Events::Rule` with an `EventPattern` -> PutRule on its bus (`EventBusName` may be a name
  or an ARN; none = the default bus) + PutTargets. moto then delivers `PutEvents` to the rule's
  SQS targets itself (measured: the pattern is honoured, the bus can be named by name or ARN).
  `Ref` of a rule is its name (`<bus>|<rule>` on a custom bus, as CloudFormation returns),
  `GetAtt Arn` moto's rule ARN.

Rules with a `ScheduleExpression` are **not** deployed: `local.scheduler.Scheduler` runs them,
and moto never fires schedules anyway. Targets moto cannot deliver to are left out (logged):
moto 5.2.5 raises NotImplementedError for a Lambda target on PutEvents (an HTTP 500 for the
sender), so only SQS queues, CloudWatch log groups and event buses are put. Target
`DeadLetterConfig` / `RetryPolicy` are passed on but never used (delivery to a local queue does
not fail). `Input` / `InputPath` are not applied by moto (logged); `InputTransformer` is.

`fix_event_shape()` (applied by `deploy_event_buses_and_rules`) makes moto send the event as
EventBridge does when a target has no input transformation: moto 5.2.5 rebuilds the event from a
string template that leaves out `account` and breaks on a `"` in `source` / `detail-type`.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from typing import Any

from local.cfn import Deployment, UnresolvableIntrinsic

logger = logging.getLogger(__name__)

BUS_TYPE = "AWS::Events::EventBus"
RULE_TYPE = "AWS::Events::Rule"
DEFAULT_BUS = "default"
# The top-level fields of an EventBridge event, in the order EventBridge sends them.
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
# The services whose targets moto delivers to (see moto.events.models.Rule.send_to_targets).
_DELIVERABLE_SERVICES = ("sqs", "logs", "events")
# PutTargets accepts these target fields (the CloudFormation names are the API names).
_TARGET_FIELDS = ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "SqsParameters", "DeadLetterConfig",
                  "RetryPolicy", "HttpParameters")

_patch_lock = threading.Lock()


def deploy_event_buses_and_rules(deployment: Deployment, events_client: Any) -> dict[str, str]:
    """Create the custom buses, then the event-pattern rules; returns {logical_id: ARN} of both.

    Deploy the rules' targets (queues) first: their ARNs are resolved here.
    """
    fix_event_shape()
    created = deploy_event_buses(deployment, events_client)
    created.update(deploy_rules(deployment, events_client))
    return created


def deploy_event_buses(deployment: Deployment, events_client: Any) -> dict[str, str]:
    created: dict[str, str] = {}
    for logical_id in deployment.resources_of_type(BUS_TYPE):
        props = deployment.resolve(deployment.properties(logical_id))
        name = str(props.get("Name") or logical_id)
        if props.get("EventSourceName"):
            logger.warning("%s: partner event source %s is not emulated locally", logical_id, props["EventSourceName"])
        try:
            arn = events_client.describe_event_bus(Name=name)["Arn"]
        except events_client.exceptions.ResourceNotFoundException:
            request: dict[str, Any] = {"Name": name}
            tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]
            if tags:
                request["Tags"] = tags
            arn = events_client.create_event_bus(**request)["EventBusArn"]
            logger.info("created event bus %s", name)
        deployment.physical_ids[logical_id] = name  # Ref of a bus is its name
        deployment.attributes[(logical_id, "Arn")] = arn
        deployment.attributes[(logical_id, "Name")] = name
        created[logical_id] = arn
    return created


def deploy_rules(deployment: Deployment, events_client: Any) -> dict[str, str]:
    """PutRule + PutTargets for every event-pattern rule (scheduled rules are the Scheduler's)."""
    created: dict[str, str] = {}
    for logical_id, resource in deployment.resources_of_type(RULE_TYPE).items():
        raw = resource.get("Properties") or {}
        if raw.get("ScheduleExpression") or not raw.get("EventPattern"):
            continue  # local.scheduler.Scheduler runs scheduled rules; nothing else fires them
        try:
            props = deployment.resolve(raw)
        except UnresolvableIntrinsic as exc:
            logger.error("%s: cannot resolve the rule (%s); not deployed", logical_id, exc)
            continue
        name = str(props.get("Name") or logical_id)
        bus = bus_name(props.get("EventBusName"))
        pattern = props["EventPattern"]
        request: dict[str, Any] = {
            "Name": name,
            "EventBusName": bus,
            "EventPattern": pattern if isinstance(pattern, str) else json.dumps(pattern),
            "State": "DISABLED" if str(props.get("State", "ENABLED")).upper() == "DISABLED" else "ENABLED",
        }
        if props.get("Description"):
            request["Description"] = str(props["Description"])
        arn = events_client.put_rule(**request)["RuleArn"]
        targets = [t for t in (_target(logical_id, target) for target in props.get("Targets") or []) if t is not None]
        if targets:
            failed = events_client.put_targets(Rule=name, EventBusName=bus, Targets=targets).get("FailedEntries") or []
            for failure in failed:
                logger.error("%s: target %s not put: %s", logical_id, failure.get("TargetId"), failure.get("ErrorMessage"))
        deployment.physical_ids[logical_id] = name if bus == DEFAULT_BUS else f"{bus}|{name}"
        deployment.attributes[(logical_id, "Arn")] = arn
        created[logical_id] = arn
    return created


def bus_name(value: Any) -> str:
    """An EventBusName property (a name, an ARN or nothing) as the bus name."""
    if not value:
        return DEFAULT_BUS
    text = str(value)
    if text.startswith("arn:") and ":event-bus/" in text:
        return text.split(":event-bus/", 1)[1]
    return text


def _target(rule_id: str, target: dict[str, Any]) -> dict[str, Any] | None:
    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    if service not in _DELIVERABLE_SERVICES:
        logger.warning("%s: target %s (%s) cannot be delivered to by moto; left out locally",
                       rule_id, target.get("Id"), arn)
        return None
    if target.get("Input") is not None or target.get("InputPath"):
        logger.warning("%s: target %s: Input/InputPath are not applied locally (the whole event is sent)",
                       rule_id, target.get("Id"))
    return {key: target[key] for key in _TARGET_FIELDS if target.get(key) is not None}


def fix_event_shape() -> None:
    """Without an InputTransformer, deliver the event itself (all of EventBridge's fields)."""
    from moto.events.utils import EventTemplateParser

    with _patch_lock:
        original = EventTemplateParser.parse
        if getattr(original, "_local_event_shape", False):
            return

        def parse(input_template: str | None, input_paths_map: dict[str, Any] | None, event: dict[str, Any]) -> dict[str, Any]:
            if not input_template and not input_paths_map:
                return {key: copy.deepcopy(event[key]) for key in EVENT_FIELDS if key in event}
            return original(input_template, input_paths_map, event)

        parse._local_event_shape = True  # type: ignore[attr-defined]
        EventTemplateParser.parse = staticmethod(parse)  # type: ignore[method-assign]
