"""GG-ECS: every Fargate task definition runs on ARM64; an unset RuntimePlatform means X86_64."""

from __future__ import annotations

from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    architecture_verdict,
    get,
    is_token,
    unresolved,
    violation,
)


def check(resource: Resource) -> Verdict:
    if resource.type != "AWS::ECS::TaskDefinition":
        return NOT_APPLICABLE
    compatibilities = resource.properties.get("RequiresCompatibilities") or []
    if is_token(compatibilities):
        return violation(unresolved(compatibilities))
    if "FARGATE" not in compatibilities:
        return NOT_APPLICABLE  # EC2 tasks run on the instances GG-EC2 checks
    architecture = get(resource.properties, "RuntimePlatform", "CpuArchitecture")
    return architecture_verdict(architecture, unset="X86_64 (RuntimePlatform.CpuArchitecture unset)")


RULE = Rule(
    id="GG-ECS",
    title="Fargate tasks run on ARM64",
    explanation="A Fargate task definition without RuntimePlatform.CpuArchitecture=ARM64 runs on X86_64.",
    fix="set runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64, "
    "operating_system_family=ecs.OperatingSystemFamily.LINUX)",
    applies_to=("AWS::ECS::TaskDefinition",),
    check=check,
    cfn_fix="set RuntimePlatform: {CpuArchitecture: ARM64, OperatingSystemFamily: LINUX}",
)
