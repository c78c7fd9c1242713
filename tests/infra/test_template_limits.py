"""The app's templates stay well under CloudFormation's per-template limits, and the split into
nested stacks (docs/decisions/0038-nested-stack-per-service.md) moved no table."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import stage_config
from infra.services import service_stack_id
from infra.topology import SERVICES

from .conftest import Synth

pytestmark = pytest.mark.slow

# CloudFormation quotas per template: 500 resources, 200 parameters, 200 outputs. The parent keeps
# room to grow (it holds the API's methods: ~2.5 resources per route); a service's stack more so.
MAX_PARENT_RESOURCES = 250
MAX_NESTED_RESOURCES = 300
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200

# The DynamoDB tables' logical ids as `python app.py` synthesized them on main before the split
# (commit bc7de25, Shop-dev.template.json and Shop-prod.template.json alike). A changed logical id
# would make CloudFormation create a new, empty table and delete (or orphan) the old one.
TABLE_LOGICAL_IDS_BEFORE_THE_SPLIT = [
    "CartTableD1105F87",
    "CatalogTableF8EA09BD",
    "IdentityTableA085AC59",
    "InventoryTableFD135387",
    "NotificationsTable76DCFC6C",
    "OrdersTable315BB997",
    "PaymentsTable48A42630",
]


def _counts(template: dict[str, Any]) -> tuple[int, int, int]:
    return len(template.get("Resources", {})), len(template.get("Parameters", {})), len(template.get("Outputs", {}))


def test_every_template_is_under_the_resource_parameter_and_output_limits(synth: Synth, capsys: pytest.CaptureFixture) -> None:
    # GIVEN the parent template and every nested template of the stage
    parent = synth.parent_template
    nested = synth.nested_templates
    assert len(nested) == len(SERVICES) + 1, sorted(nested)  # one per service, and monitoring

    # WHEN their resources, parameters and outputs are counted
    counts = {synth.template_path.name: _counts(parent), **{name: _counts(t) for name, t in nested.items()}}
    with capsys.disabled():
        print(f"\n{synth.stage}: resources / parameters / outputs per template")
        for name, (resources, parameters, outputs) in counts.items():
            print(f"  {name:60} {resources:4} {parameters:4} {outputs:4}")
        print(f"  {'total':60} {sum(c[0] for c in counts.values()):4}")

    # THEN the parent has under 250 resources, each nested stack under 300, and none of them is
    # near the parameter or output quota
    assert counts[synth.template_path.name][0] < MAX_PARENT_RESOURCES
    for name, (resources, parameters, outputs) in counts.items():
        if name != synth.template_path.name:
            assert resources < MAX_NESTED_RESOURCES, name
        assert parameters <= MAX_PARAMETERS, name
        assert outputs <= MAX_OUTPUTS, name


def test_each_service_has_its_own_nested_stack_with_its_functions(synth: Synth) -> None:
    # GIVEN the parent's nested stacks
    for service in SERVICES:
        nested = synth.stack.services[service.name]
        # THEN each service of the topology has one, under its construct id
        assert nested.node.id == service_stack_id(service)
        template = synth.nested_templates[nested.template_file]
        handlers = {r["Properties"].get("Handler") for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"}
        # AND it holds the functions of the service's routes, consumers and jobs (and nothing else's)
        expected = {route.handler for route in service.routes if route.deployed_with(stage_config(synth.stage).payment_provider)}
        expected |= {consumer.handler for consumer in service.stream_consumers} | {job.handler for job in service.scheduled_jobs}
        assert expected <= handlers, service.name
        others = {route.handler for other in SERVICES if other is not service for route in other.routes}
        assert not handlers & others, service.name
    # AND the parent has no function of ours (only CDK's custom-resource helpers)
    ours = [r for r in synth.parent_template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function" and str(r["Properties"].get("Handler", "")).startswith("functions.")]
    assert ours == []


def test_the_tables_keep_their_logical_ids_in_the_parent(synth: Synth) -> None:
    # GIVEN the parent template
    tables = sorted(lid for lid, r in synth.parent_template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table")
    # THEN its tables are the ones main had, with the same logical ids (no data moves), and no
    # nested stack has a table
    assert tables == TABLE_LOGICAL_IDS_BEFORE_THE_SPLIT
    for name, template in synth.nested_templates.items():
        assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"], name
