"""Sorting a stack's resources into what costs: workload Lambda functions, Fargate tasks, EKS node groups and
CodeBuild projects, by kind, and the functions that are listed but not priced.

The workload functions are the container-image functions, which run the services' traffic that cdk.json's
`lambda_*` figures describe. Functions that only serve deploys (CDK's own helpers and custom-resource handlers,
found by following the template's references) and other zip functions (event handlers) take no share of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from graviton.guardrails.rules import Resource

Kind = Literal["lambda", "fargate", "eks", "codebuild"]
KINDS: tuple[Kind, ...] = ("lambda", "fargate", "eks", "codebuild")
# What the report calls a resource of each kind.
KIND_NAMES: dict[Kind, str] = {
    "lambda": "workload Lambda function",
    "fargate": "Fargate task definition",
    "eks": "EKS node group",
    "codebuild": "CodeBuild project",
}
LAMBDA = "AWS::Lambda::Function"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"


def _references(value: Any) -> Iterator[str]:
    """Logical ids a template value points at through Ref or Fn::GetAtt."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                yield str(inner[0])
            elif key == "Fn::GetAtt" and isinstance(inner, str):
                yield inner.split(".", 1)[0]
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def helper_functions(resources: Iterable[Resource]) -> set[str]:
    """Logical ids of the Lambda functions that only serve deploys, not workloads.

    Those are CDK's own functions (the guard marks them `graviton:remediated`), every function that backs a
    custom resource (its ServiceToken), and what those call: the Provider framework names the user's handlers in
    its environment and its waiter state machine.
    """
    by_id = {resource.logical_id: resource for resource in resources}
    queue = [r.logical_id for r in by_id.values() if r.type == LAMBDA and r.remediated]
    for resource in by_id.values():
        if resource.type.startswith("Custom::") or resource.type == "AWS::CloudFormation::CustomResource":
            queue += list(_references(resource.properties.get("ServiceToken")))
    seen: set[str] = set()
    while queue:
        logical_id = queue.pop()
        found = by_id.get(logical_id)
        # Only functions and the framework's state machine are followed: roles and policies name everything.
        if logical_id in seen or found is None or found.type not in (LAMBDA, STATE_MACHINE):
            continue
        seen.add(logical_id)
        queue += list(_references(found.properties))
    return {logical_id for logical_id in seen if by_id[logical_id].type == LAMBDA}


def _is_fargate(resource: Resource) -> bool:
    compatibilities = resource.properties.get("RequiresCompatibilities") or []
    return isinstance(compatibilities, list) and "FARGATE" in compatibilities


@dataclass
class Workloads:
    """A stack's resources that cost, by kind, and the functions that are listed but not priced."""

    kinds: dict[Kind, list[Resource]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    helpers: list[Resource] = field(default_factory=list)  # deploy-time: CDK's and custom-resource handlers
    other_functions: list[Resource] = field(default_factory=list)  # zip functions run by events, not by traffic


def workloads(resources: list[Resource]) -> Workloads:
    """Sort the stack's resources: priced by kind, or a function that is listed and not priced."""
    helpers = helper_functions(resources)
    found = Workloads()
    kinds = found.kinds
    for resource in resources:
        if resource.type == LAMBDA and resource.logical_id in helpers:
            found.helpers.append(resource)
        elif resource.type == LAMBDA and resource.properties.get("PackageType") == "Image":
            # The services run as container images; their traffic is what cdk.json's lambda_* figures describe.
            kinds["lambda"].append(resource)
        elif resource.type == LAMBDA:
            found.other_functions.append(resource)
        elif resource.type == "AWS::ECS::TaskDefinition" and _is_fargate(resource):
            kinds["fargate"].append(resource)
        elif resource.type == "AWS::EKS::Nodegroup":
            kinds["eks"].append(resource)
        elif resource.type == "AWS::CodeBuild::Project":
            kinds["codebuild"].append(resource)
    return found
