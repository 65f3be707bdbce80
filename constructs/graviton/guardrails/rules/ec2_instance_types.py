"""GG-EC2: instances, launch templates and configurations, Auto Scaling overrides and Batch use Graviton."""

from __future__ import annotations

from graviton.guardrails.instance_types import is_graviton
from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    compliant,
    get,
    is_token,
    unresolved,
    violation,
)


def instance_types(resource: Resource) -> list | None:
    """The instance types a capacity resource can launch, or None when it names none."""
    p = resource.properties
    match resource.type:
        case "AWS::EC2::Instance" | "AWS::AutoScaling::LaunchConfiguration":
            value = p.get("InstanceType")
            return None if value is None else [value]
        case "AWS::EC2::LaunchTemplate":
            value = get(p, "LaunchTemplateData", "InstanceType")
            return None if value is None else [value]
        case "AWS::AutoScaling::AutoScalingGroup":
            overrides = get(p, "MixedInstancesPolicy", "LaunchTemplate", "Overrides")
            if is_token(overrides):
                return [overrides]
            return [o.get("InstanceType") for o in overrides or [] if "InstanceType" in o] or None
        case "AWS::Batch::ComputeEnvironment":
            value = get(p, "ComputeResources", "InstanceTypes")
            if value is None and get(p, "ComputeResources", "Type") in ("EC2", "SPOT"):
                return ["optimal (Batch's default: x86 families)"]
            return value if isinstance(value, list) else (None if value is None else [value])
    return None


def check(resource: Resource) -> Verdict:
    if resource.type not in RULE.applies_to:
        return NOT_APPLICABLE
    types = instance_types(resource)
    if types is None:
        return NOT_APPLICABLE  # nothing launched here names a type (for example Fargate Batch)
    for value in types:
        if is_token(value):
            return violation(unresolved(value))
    foreign = [t for t in types if not is_graviton(str(t))]
    if foreign:
        return violation(f"{foreign[0]} is not a known Graviton instance type")
    return compliant(",".join(types))


RULE = Rule(
    id="GG-EC2",
    title="EC2 capacity is Graviton",
    explanation="Instances, launch templates, launch configurations, Auto Scaling overrides and Batch compute "
    "environments must name Graviton instance types; unknown families are refused, not guessed.",
    fix="use a Graviton instance type (t4g, m7g, c7g, r7g, ...)",
    applies_to=(
        "AWS::EC2::Instance",
        "AWS::EC2::LaunchTemplate",
        "AWS::AutoScaling::LaunchConfiguration",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::Batch::ComputeEnvironment",
    ),
    check=check,
)
