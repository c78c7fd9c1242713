"""One template from a parent and its nested stacks: what the local stack deploys (ADR 0038).

The app is a parent stack with one nested stack per service (and monitoring). CloudFormation
passes values into a nested stack as parameters (the parent's `AWS::CloudFormation::Stack`
resource lists, for each parameter, an expression in the parent's terms) and reads values out of
it as outputs (`Fn::GetAtt [NestedStackResource, "Outputs.X"]` in the parent). The local stack
resolves every intrinsic itself (local/cfn.py), with a resource's physical id its logical id, so
it wants one namespace: `flatten()` merges every nested template into its parent's, recursively:

- a child's `Ref` to one of its parameters becomes the parent's expression for that parameter
  (or the parameter's Default), also inside `Fn::Sub` strings;
- a `Fn::GetAtt [NestedStackResource, "Outputs.X"]` anywhere becomes the child's expression for
  output X (which, once merged, is in the same namespace), repeatedly: a value passed from one
  nested stack to another goes through the parent as an output and then a parameter;
- the `AWS::CloudFormation::Stack` resources go; a `DependsOn` on one becomes a `DependsOn` on
  the child's resources, and the child's resources inherit the stack resource's `DependsOn`;
- a logical id (or condition, or mapping) defined by two templates is an error, named with both
  templates: the merged namespace must not silently overwrite anything.

The nested templates are read through `load(path)`, path being the file's name in the cloud
assembly (`*.nested.template.json`): the nested stack resource's `Metadata["aws:asset:path"]`
(which CDK writes when asset metadata is on, as under the CDK CLI), or else the file whose
asset (in the assembly's `*.assets.json`) is the object its `TemplateURL` names.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

STACK_TYPE = "AWS::CloudFormation::Stack"
ASSET_PATH = "aws:asset:path"
OUTPUTS_PREFIX = "Outputs."
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class FlattenError(ValueError):
    """The templates cannot be merged into one (a collision, a missing value, an unknown output)."""


def flatten_assembly(assembly_dir: str | Path, template_file: str) -> dict[str, Any]:
    """The stack `template_file` of a cloud assembly, with its nested stacks merged in."""
    directory = Path(assembly_dir)
    # S3 object key -> the file it is uploaded from (nested templates are file assets of their parent)
    objects = {
        destination["objectKey"]: asset["source"]["path"]
        for manifest in directory.glob("*.assets.json")
        for asset in json.loads(manifest.read_text()).get("files", {}).values()
        for destination in asset.get("destinations", {}).values()
        if asset.get("source", {}).get("packaging") == "file" and "objectKey" in destination
    }

    def load(path: str) -> dict[str, Any]:
        return json.loads((directory / path).read_text())

    def locate(stack_id: str, stack: dict[str, Any]) -> str | None:
        path = (stack.get("Metadata") or {}).get(ASSET_PATH)
        if path:
            return path
        keys = [key for key in _strings((stack.get("Properties") or {}).get("TemplateURL")) if key in objects]
        return objects[keys[-1]] if keys else None

    return flatten(load(template_file), load, name=template_file, locate=locate)


def _strings(node: Any) -> list[str]:
    """Every string in `node`, and each one's last path segment ("/abc.json" -> "abc.json")."""
    if isinstance(node, dict):
        return [found for value in node.values() for found in _strings(value)]
    if isinstance(node, list):
        return [found for value in node for found in _strings(value)]
    return [node, node.rsplit("/", 1)[-1]] if isinstance(node, str) else []


def _asset_path(stack_id: str, stack: dict[str, Any]) -> str | None:
    return (stack.get("Metadata") or {}).get(ASSET_PATH)


def flatten(
    template: dict[str, Any],
    load: Callable[[str], dict[str, Any]],
    name: str = "the parent",
    locate: Callable[[str, dict[str, Any]], str | None] = _asset_path,
) -> dict[str, Any]:
    """`template` with every nested stack (recursively) merged in; the input is not modified.
    `locate(logical id, nested stack resource)` names the nested template for `load`."""
    merged = copy.deepcopy(template)
    resources: dict[str, Any] = merged.setdefault("Resources", {})
    owner = dict.fromkeys(resources, name)  # logical id -> the template that defined it
    nested = {lid: r for lid, r in resources.items() if r.get("Type") == STACK_TYPE}
    outputs: dict[str, dict[str, Any]] = {}  # nested stack logical id -> {output: expression}
    children: dict[str, list[str]] = {}  # nested stack logical id -> its resources' logical ids

    for stack_id, stack in nested.items():
        path = locate(stack_id, stack)
        if not path:
            raise FlattenError(f"{name}: no template found for nested stack {stack_id} (no {ASSET_PATH!r} metadata, "
                               "no file asset for its TemplateURL)")
        if "Condition" in stack:
            raise FlattenError(f"{name}: nested stack {stack_id} has a Condition, which flattening cannot keep")
        child = flatten(load(path), load, name=path, locate=locate)
        values = _parameter_values(stack_id, stack, child, path)
        child = _substitute(child, values)
        del resources[stack_id]
        depends = _depends_on(stack)
        for logical_id, resource in child.get("Resources", {}).items():
            if logical_id in owner:
                raise FlattenError(f"logical id {logical_id!r} is in both {owner[logical_id]} and {path}")
            owner[logical_id] = path
            if depends:
                resource["DependsOn"] = sorted({*_depends_on(resource), *depends})
            resources[logical_id] = resource
        children[stack_id] = list(child.get("Resources", {}))
        outputs[stack_id] = {output: value["Value"] for output, value in child.get("Outputs", {}).items()}
        for section in ("Conditions", "Mappings"):
            for key, value in child.get(section, {}).items():
                existing = merged.setdefault(section, {})
                if key in existing and existing[key] != value:
                    raise FlattenError(f"{section[:-1].lower()} {key!r} is in both {name} and {path}, differently")
                existing[key] = value

    if not nested:
        return merged
    _expand_depends_on(merged["Resources"], children)
    return _replace_outputs(merged, outputs)


def _parameter_values(stack_id: str, stack: dict[str, Any], child: dict[str, Any], path: str) -> dict[str, Any]:
    """Parameter name -> the expression the parent passes (or the parameter's Default)."""
    passed = (stack.get("Properties") or {}).get("Parameters") or {}
    declared = child.get("Parameters") or {}
    unknown = set(passed) - set(declared)
    if unknown:
        raise FlattenError(f"{stack_id} passes parameters {sorted(unknown)} that {path} does not declare")
    values = {}
    for parameter, declaration in declared.items():
        if parameter in passed:
            values[parameter] = passed[parameter]
        elif "Default" in declaration:
            values[parameter] = declaration["Default"]
        else:
            raise FlattenError(f"{path}: parameter {parameter!r} has no value ({stack_id} passes none, no Default)")
    return values


def _substitute(template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The child's sections with every Ref to a parameter replaced by its value."""
    result = {key: value for key, value in template.items() if key != "Parameters"}
    return _map(result, lambda node: _substitute_node(node, values))


def _substitute_node(node: Any, values: dict[str, Any]) -> Any:
    if not (isinstance(node, dict) and len(node) == 1):
        return None
    (key, arg), = node.items()
    if key == "Ref" and isinstance(arg, str) and arg in values:
        return copy.deepcopy(values[arg])
    if key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], dict(arg[1]))
        named = {match for match in _SUB_VARIABLE.findall(text) if match in values and match not in variables}
        if named:
            variables = {name: _map(value, lambda n: _substitute_node(n, values)) for name, value in variables.items()}
            variables.update({name: copy.deepcopy(values[name]) for name in sorted(named)})
            return {"Fn::Sub": [text, variables]}
    return None


def _replace_outputs(template: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every Fn::GetAtt [nested stack, "Outputs.X"] replaced by output X's expression, until none is
    left (an output may be a value another nested stack passed in)."""

    def replace(node: Any, seen: tuple[tuple[str, str], ...] = ()) -> Any:
        if not (isinstance(node, dict) and len(node) == 1 and "Fn::GetAtt" in node):
            return None
        arg = node["Fn::GetAtt"]
        stack_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        if stack_id not in outputs:
            return None
        if not attribute.startswith(OUTPUTS_PREFIX):
            raise FlattenError(f"Fn::GetAtt {stack_id}.{attribute}: only a nested stack's Outputs can be read")
        output = attribute.removeprefix(OUTPUTS_PREFIX)
        if output not in outputs[stack_id]:
            raise FlattenError(f"Fn::GetAtt {stack_id}.{attribute}: the nested stack has no output {output!r}")
        if (stack_id, output) in seen:
            raise FlattenError(f"outputs refer to each other in a loop: {[*seen, (stack_id, output)]}")
        return _map(copy.deepcopy(outputs[stack_id][output]), lambda n: replace(n, (*seen, (stack_id, output))))

    result = _map(template, replace)
    left = sorted(stack_id for stack_id in outputs if _still_named(result, stack_id))
    if left:
        raise FlattenError(f"the removed nested stacks {left} are still referred to (a Ref, or a Fn::Sub string?)")
    return result


def _still_named(node: Any, stack_id: str) -> bool:
    if isinstance(node, dict):
        return any(_still_named(value, stack_id) for value in node.values())
    if isinstance(node, list):
        return any(_still_named(value, stack_id) for value in node)
    return isinstance(node, str) and (node == stack_id or f"{stack_id}.{OUTPUTS_PREFIX}" in node)


def _depends_on(resource: dict[str, Any]) -> list[str]:
    depends = resource.get("DependsOn") or []
    return [depends] if isinstance(depends, str) else list(depends)


def _expand_depends_on(resources: dict[str, Any], children: dict[str, list[str]]) -> None:
    """A DependsOn on a (now removed) nested stack names that stack's resources instead."""
    for resource in resources.values():
        depends = _depends_on(resource)
        if not any(depend in children for depend in depends):
            continue
        expanded = {child for depend in depends for child in children.get(depend, [depend])}
        resource["DependsOn"] = sorted(expanded)


def _map(node: Any, replace: Callable[[Any], Any]) -> Any:
    """`node` rebuilt, top-down: where replace(n) is not None, that replaces n (and is not walked)."""
    replaced = replace(node)
    if replaced is not None:
        return replaced
    if isinstance(node, dict):
        return {key: _map(value, replace) for key, value in node.items()}
    if isinstance(node, list):
        return [_map(value, replace) for value in node]
    return node
