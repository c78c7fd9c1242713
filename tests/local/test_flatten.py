"""local/flatten.py: a parent template and its nested templates merged into one namespace."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from local.cfn import Deployment
from local.flatten import FlattenError, flatten, flatten_assembly


def _stack(path: str, parameters: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A nested stack resource as CDK writes it (asset metadata on)."""
    resource = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": f"https://bucket/{path}"},
                "Metadata": {"aws:asset:path": path}, **extra}
    if parameters:
        resource["Properties"]["Parameters"] = parameters
    return resource


PARENT = {
    "Parameters": {"BootstrapVersion": {"Type": "String", "Default": "/cdk-bootstrap/version"}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "t"}},
        "Orders": _stack("orders.json", {"referencetoTableRef": {"Ref": "Table"},
                                         "referencetoTableArn": {"Fn::GetAtt": ["Table", "Arn"]}}),
        "Notify": _stack("notify.json", {"referencetoOrdersOutputsPublisherArn": {"Fn::GetAtt": ["Orders", "Outputs.PublisherArn"]}}),
        "Method": {"Type": "AWS::ApiGateway::Method",
                   "Properties": {"Uri": {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["Orders", "Outputs.PublisherArn"]}, "/invocations"]]}},
                   "DependsOn": ["Notify"]},
    },
    "Outputs": {"TableName": {"Value": {"Ref": "Table"}}},
}
ORDERS = {
    "Parameters": {"referencetoTableRef": {"Type": "String"}, "referencetoTableArn": {"Type": "String"},
                   "Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
    "Resources": {
        "Publisher": {"Type": "AWS::Lambda::Function", "Properties": {
            "Handler": "functions.orders.publish.handler",
            "Environment": {"Variables": {"TABLE": {"Ref": "referencetoTableRef"}, "STAGE": {"Ref": "Stage"}}},
            "Role": {"Fn::GetAtt": ["PublisherRole", "Arn"]}}},
        "PublisherRole": {"Type": "AWS::IAM::Role", "Properties": {
            "Policies": [{"Resource": {"Fn::Sub": "${referencetoTableArn}/index/*"}},
                         {"Resource": {"Fn::Sub": ["${Arn}/stream/*", {"Arn": {"Ref": "referencetoTableArn"}}]}}]}},
    },
    "Outputs": {"PublisherArn": {"Value": {"Fn::GetAtt": ["Publisher", "Arn"]}}},
}
NOTIFY = {
    "Parameters": {"referencetoOrdersOutputsPublisherArn": {"Type": "String"}},
    "Resources": {"Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": {"Ref": "referencetoOrdersOutputsPublisherArn"}}]}}},
}


def _loader(templates: dict[str, dict[str, Any]]):  # noqa: ANN202
    return lambda path: copy.deepcopy(templates[path])


def _flattened(parent: dict[str, Any] = PARENT, **templates: dict[str, Any]) -> dict[str, Any]:
    return flatten(parent, _loader({"orders.json": ORDERS, "notify.json": NOTIFY, **templates}))


def test_a_childs_parameters_become_what_the_parent_passes_and_the_stack_resources_go() -> None:
    # GIVEN a parent passing a table's Ref and Arn into a nested stack
    # WHEN it is flattened
    merged = _flattened()
    resources = merged["Resources"]

    # THEN the nested stack resources are gone and every child resource is in one namespace
    assert set(resources) == {"Table", "Method", "Publisher", "PublisherRole", "Rule"}
    # AND a Ref to a parameter is the parent's expression (a Default when nothing is passed)
    variables = resources["Publisher"]["Properties"]["Environment"]["Variables"]
    assert variables == {"TABLE": {"Ref": "Table"}, "STAGE": "dev"}
    assert merged["Conditions"] == {"IsDev": {"Fn::Equals": ["dev", "dev"]}}
    # AND inside Fn::Sub, the parameter becomes a variable of the Sub (an existing one is substituted)
    policies = resources["PublisherRole"]["Properties"]["Policies"]
    assert policies[0]["Resource"] == {"Fn::Sub": ["${referencetoTableArn}/index/*",
                                                   {"referencetoTableArn": {"Fn::GetAtt": ["Table", "Arn"]}}]}
    assert policies[1]["Resource"] == {"Fn::Sub": ["${Arn}/stream/*", {"Arn": {"Fn::GetAtt": ["Table", "Arn"]}}]}
    # AND the parent's parameters and outputs stay, the children's do not
    assert merged["Parameters"] == PARENT["Parameters"]
    assert merged["Outputs"] == PARENT["Outputs"]


def test_an_output_read_by_the_parent_or_passed_to_another_child_becomes_the_childs_expression() -> None:
    # GIVEN a method reading a nested output, and a second nested stack given that output as a parameter
    resources = _flattened()["Resources"]

    # THEN both name the function itself
    uri = resources["Method"]["Properties"]["Uri"]
    assert uri == {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["Publisher", "Arn"]}, "/invocations"]]}
    assert resources["Rule"]["Properties"]["Targets"] == [{"Arn": {"Fn::GetAtt": ["Publisher", "Arn"]}}]


def test_a_depends_on_a_nested_stack_names_its_resources_and_its_resources_inherit_the_stacks() -> None:
    # GIVEN a method depending on a nested stack, and a nested stack depending on a parent resource
    parent = copy.deepcopy(PARENT)
    parent["Resources"]["Orders"]["DependsOn"] = "Table"
    resources = _flattened(parent)["Resources"]

    # THEN the method depends on the nested stack's resources, and the child's resources on the table
    assert resources["Method"]["DependsOn"] == ["Rule"]
    assert resources["Publisher"]["DependsOn"] == ["Table"]
    assert resources["PublisherRole"]["DependsOn"] == ["Table"]


def test_nested_stacks_inside_nested_stacks_are_merged_too() -> None:
    # GIVEN a nested stack with a nested stack of its own, which reads a value through its parent
    inner = {"Parameters": {"TableName": {"Type": "String"}},
             "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "TableName"}}}},
             "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}}}
    middle = {"Parameters": {"referencetoTableRef": {"Type": "String"}},
              "Resources": {"Inner": _stack("inner.json", {"TableName": {"Ref": "referencetoTableRef"}})},
              "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Inner", "Outputs.QueueArn"]}}}}
    parent = {"Resources": {"Table": {"Type": "AWS::DynamoDB::Table"},
                            "Middle": _stack("middle.json", {"referencetoTableRef": {"Ref": "Table"}}),
                            "Alarm": {"Type": "AWS::CloudWatch::Alarm",
                                      "Properties": {"Q": {"Fn::GetAtt": ["Middle", "Outputs.QueueArn"]}}}}}

    resources = flatten(parent, _loader({"middle.json": middle, "inner.json": inner}))["Resources"]

    assert set(resources) == {"Table", "Queue", "Alarm"}
    assert resources["Queue"]["Properties"]["QueueName"] == {"Ref": "Table"}
    assert resources["Alarm"]["Properties"]["Q"] == {"Fn::GetAtt": ["Queue", "Arn"]}


def test_the_same_logical_id_in_two_templates_fails_loudly_naming_both() -> None:
    # GIVEN a child defining a logical id the parent (or another child) defines too
    clashing = copy.deepcopy(NOTIFY)
    clashing["Resources"]["Table"] = {"Type": "AWS::SQS::Queue"}

    # WHEN it is flattened  THEN it is refused, saying where
    with pytest.raises(FlattenError, match=r"'Table' is in both the parent and notify.json"):
        _flattened(**{"notify.json": clashing})
    between_children = copy.deepcopy(NOTIFY)
    between_children["Resources"]["Publisher"] = {"Type": "AWS::SQS::Queue"}
    with pytest.raises(FlattenError, match=r"'Publisher' is in both orders.json and notify.json"):
        _flattened(**{"notify.json": between_children})


@pytest.mark.parametrize("breakage,message", [
    (lambda p, o: o["Parameters"].update({"Missing": {"Type": "String"}}), "parameter 'Missing' has no value"),
    (lambda p, o: p["Resources"]["Orders"]["Properties"]["Parameters"].update({"Extra": "x"}), r"passes parameters \['Extra'\]"),
    (lambda p, o: p["Resources"]["Method"]["Properties"].update({"X": {"Fn::GetAtt": ["Orders", "Outputs.Nope"]}}), "no output 'Nope'"),
    (lambda p, o: p["Resources"]["Method"]["Properties"].update({"X": {"Ref": "Orders"}}), r"still referred to"),
    (lambda p, o: p["Resources"]["Orders"]["Metadata"].clear(), "no template found for nested stack Orders"),
])
def test_what_cannot_be_merged_faithfully_is_refused(breakage, message: str) -> None:
    parent, orders = copy.deepcopy(PARENT), copy.deepcopy(ORDERS)
    breakage(parent, orders)
    with pytest.raises(FlattenError, match=message):
        flatten(parent, _loader({"orders.json": orders, "notify.json": NOTIFY}))


def test_the_input_templates_are_not_modified() -> None:
    before = json.dumps([PARENT, ORDERS, NOTIFY], sort_keys=True)
    _flattened()
    assert json.dumps([PARENT, ORDERS, NOTIFY], sort_keys=True) == before


def test_an_assembly_without_asset_metadata_finds_nested_templates_by_their_template_url(tmp_path: Path) -> None:
    # GIVEN a cloud assembly as `python app.py` writes it: no aws:asset:path metadata, the nested
    # template a file asset of the parent whose object key the TemplateURL ends with
    parent = copy.deepcopy(PARENT)
    for stack_id, key in (("Orders", "abc123.json"), ("Notify", "def456.json")):
        del parent["Resources"][stack_id]["Metadata"]
        parent["Resources"][stack_id]["Properties"]["TemplateURL"] = {"Fn::Join": ["", ["https://s3.", {"Ref": "AWS::Region"}, f"/bucket/{key}"]]}
    (tmp_path / "Parent.template.json").write_text(json.dumps(parent))
    (tmp_path / "ParentOrders.nested.template.json").write_text(json.dumps(ORDERS))
    (tmp_path / "ParentNotify.nested.template.json").write_text(json.dumps(NOTIFY))
    files = {
        key: {"source": {"path": path, "packaging": "file"}, "destinations": {"d": {"objectKey": f"{key}.json"}}}
        for key, path in (("abc123", "ParentOrders.nested.template.json"), ("def456", "ParentNotify.nested.template.json"))
    }
    (tmp_path / "Parent.assets.json").write_text(json.dumps({"files": files}))

    # WHEN it is flattened
    merged = flatten_assembly(tmp_path, "Parent.template.json")

    # THEN it is the same as with the metadata
    assert merged["Resources"] == _flattened()["Resources"]


def test_the_local_deployment_resolves_the_flattened_template() -> None:
    # GIVEN the flattened template deployed locally (physical id = logical id)
    deployment = Deployment(_flattened())
    # THEN a nested function's environment names the parent's table, and the method the function
    assert deployment.functions()["Publisher"].environment == {"TABLE": "Table", "STAGE": "dev"}
    assert deployment.resolve(deployment.properties("Method")["Uri"]).endswith(":function:Publisher/invocations")
