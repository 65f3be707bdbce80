"""GG-EKS: managed node groups use Graviton instance types and an explicit arm64 AMI type."""

from __future__ import annotations

from graviton.guardrails.instance_types import is_graviton
from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    compliant,
    is_token,
    unresolved,
    violation,
)

ARM64_AMI_TYPES = {
    "AL2023_ARM_64_STANDARD",
    "AL2023_ARM_64_NVIDIA",
    "AL2023_ARM_64_NEURON",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_FIPS",
    "AL2_ARM_64",
}


def check(resource: Resource) -> Verdict:
    if resource.type != "AWS::EKS::Nodegroup":
        return NOT_APPLICABLE
    ami_type = resource.properties.get("AmiType")
    instance_types = resource.properties.get("InstanceTypes")
    for value in (ami_type, instance_types, *(instance_types if isinstance(instance_types, list) else [])):
        if is_token(value):
            return violation(unresolved(value))
    if ami_type is None:
        return violation("AmiType unset (CDK or EKS picks one)")
    if ami_type not in ARM64_AMI_TYPES:
        return violation(f"AmiType {ami_type}")
    if not instance_types:
        return violation("InstanceTypes unset (EKS defaults to an x86 t3.medium)")
    foreign = [t for t in instance_types if not is_graviton(t)]
    if foreign:
        return violation(f"instance type {foreign[0]}")
    return compliant(f"{ami_type} on {','.join(instance_types)}")


RULE = Rule(
    id="GG-EKS",
    title="EKS node groups are Graviton with an arm64 AMI",
    explanation="A node group needs Graviton instance types and an explicit arm64 AMI type; "
    "left unset, the AMI type is chosen for you.",
    fix="use Graviton instance types (t4g, m7g, c7g, ...) and ami_type=eks.NodegroupAmiType.AL2023_ARM_64_STANDARD",
    applies_to=("AWS::EKS::Nodegroup",),
    check=check,
    cfn_fix="set InstanceTypes to Graviton types (m7g.large, ...) and AmiType: AL2023_ARM_64_STANDARD",
)
