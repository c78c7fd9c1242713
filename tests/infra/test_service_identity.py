"""Per-service identity in telemetry: every function of ours runs with POWERTOOLS_SERVICE_NAME set
to its handler's service (infra/functions.py), so its log lines and its EMF metrics' `service`
dimension (shared/metrics.py) name that service; the alarms on those metrics name exactly the
service of the function that emits them (infra/monitoring.py EMF_EMITTERS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import stage_config
from infra.handlers import deployed_handlers
from infra.monitoring import EMF_EMITTERS
from infra.topology import SERVICES, all_routes, service_of

from .conftest import Synth

pytestmark = pytest.mark.slow


def _templates(synth: Synth) -> list[dict[str, Any]]:
    """The stack's template and every nested stack's (the app may split into nested stacks)."""
    return [json.loads(path.read_text()) for path in sorted(synth.assembly_dir.glob("*.template.json"))]


def _our_functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """Handler -> the function's properties, for the system's own functions in any template."""
    found: dict[str, dict[str, Any]] = {}
    for template in _templates(synth):
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and str(props.get("Handler", "")).startswith("functions."):
                assert props["Handler"] not in found, props["Handler"]
                found[props["Handler"]] = props
    return found


def test_every_function_names_its_handlers_service_in_powertools_service_name(synth: Synth) -> None:
    # GIVEN every function of ours in the synthesized templates (one per handler the stage deploys)
    functions = _our_functions(synth)
    provider = stage_config(synth.stage).payment_provider
    not_deployed = {route.handler for route in all_routes() if not route.deployed_with(provider)}  # e.g. the sandbox's pages in prod
    assert sorted(functions) == sorted(handler for handler, _ in deployed_handlers() if handler not in not_deployed)
    # WHEN each one's environment is read
    services = {handler: props["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") for handler, props in functions.items()}
    # THEN it is the service whose folder holds the handler, one of the nine services
    assert services == {handler: service_of(handler) for handler in functions}
    assert set(services.values()) == {service.name for service in SERVICES}
    assert len(set(services.values())) == 9


def test_each_alarmed_emf_metric_names_the_service_its_emitting_function_runs_as(prod: Synth) -> None:
    # GIVEN the functions that emit the alarmed EMF metrics, as deployed
    functions = _our_functions(prod)
    for name, handler in EMF_EMITTERS.items():
        emitted = functions[handler]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        # WHEN the alarms' metrics of that name are read (the monitoring nested stack's template included)
        alarmed = [
            {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            for template in _templates(prod)
            for resource in template.get("Resources", {}).values() if resource["Type"] == "AWS::CloudWatch::Alarm"
            for metric in _alarm_metrics(resource["Properties"]) if metric["MetricName"] == name
        ]
        # THEN every one of them watches exactly the emitting function's service
        assert alarmed, name
        assert {dimensions.get("service") for dimensions in alarmed} == {emitted}, name


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    metrics = [alarm] if "MetricName" in alarm else []
    metrics += [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]
    return metrics
