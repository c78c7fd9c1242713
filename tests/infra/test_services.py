"""infra/services.py builds each service's nested stack from the topology alone: a consumer the
topology moves to another service lands in that service's stack, with its alarms (ADR 0038)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from infra.services import check_hosts
from infra.topology import SERVICES


def test_a_topology_without_the_saga_or_notifications_service_fails_the_synth() -> None:
    check_hosts(SERVICES)
    for missing in ("orders", "notifications"):
        with pytest.raises(ValueError, match=f"'{missing}' service's stack"):
            check_hosts(tuple(service for service in SERVICES if service.name != missing))


def _resliced() -> tuple:
    """The topology with consumers moved as the services' re-slicing will move them: the order
    events publisher to notifications, the search consumers to search."""
    services = {service.name: service for service in SERVICES}
    moves = {"OrderEventsPublisher": "notifications", "SearchIndexer": "search", "SearchStockSync": "search"}
    consumers = {consumer.id: consumer for service in SERVICES for consumer in service.stream_consumers}
    for name, service in services.items():
        kept = tuple(consumer for consumer in service.stream_consumers if consumer.id not in moves)
        added = tuple(consumers[consumer_id] for consumer_id, target in moves.items() if target == name)
        services[name] = dataclasses.replace(service, stream_consumers=kept + added)
    return tuple(services.values())


@pytest.mark.slow
def test_a_consumer_moved_to_another_service_is_built_in_that_services_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the app built from a re-sliced topology, with its aspects (cdk-nag left out: slow, and
    # about the resources, which do not change)
    import aws_cdk as cdk

    import infra.stack
    from infra.aspects import AsyncConsumersHaveFailureDestination, EveryQueueAndStreamConsumerHasAnAlarm
    from infra.config import stage_config
    from local.flatten import flatten_assembly

    monkeypatch.setattr(infra.stack, "SERVICES", _resliced())
    context = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="cdk-resliced-"), context={**context, "aws:cdk:bundling-stacks": []})
    stack = infra.stack.BackendStack(app, "Shop-dev", stage_config("dev"))
    cdk.Aspects.of(app).add(AsyncConsumersHaveFailureDestination())
    cdk.Aspects.of(app).add(EveryQueueAndStreamConsumerHasAnAlarm())

    # WHEN it is synthesized
    assembly = app.synth()
    errors = cdk.assertions.Annotations.from_stack(stack).find_error("*", cdk.assertions.Match.any_value())
    assert errors == []

    # THEN each moved consumer is a function of its new service's stack, with its lag alarm there
    def nested(name: str) -> dict[str, Any]:
        return json.loads((Path(assembly.directory) / stack.services[name].template_file).read_text())

    for consumer_id, service in (("OrderEventsPublisher", "notifications"), ("SearchIndexer", "search"), ("SearchStockSync", "search")):
        resources = nested(service)["Resources"]
        assert [lid for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and lid.startswith(consumer_id)], consumer_id
        names = [r["Properties"]["AlarmName"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        assert f"{stack.stack_name}-{service}-{consumer_id}IteratorAge" in names
    orders = nested("orders")["Resources"]
    assert not [lid for lid in orders if lid.startswith("OrderEventsPublisher")]
    # AND the publisher still puts on the parent's bus, and the flattened template resolves it
    merged = flatten_assembly(assembly.directory, stack.template_file)["Resources"]
    [publisher] = [r for lid, r in merged.items() if r["Type"] == "AWS::Lambda::Function" and lid.startswith("OrderEventsPublisher")]
    bus_id = stack.get_logical_id(stack.node.find_child("Notifications").node.find_child("OrderEvents").node.default_child)
    assert publisher["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": bus_id}
