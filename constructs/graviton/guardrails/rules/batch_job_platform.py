"""GG-BATCH: every Batch job definition on Fargate runs on ARM64; an unset RuntimePlatform means X86_64."""

from __future__ import annotations

from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Compliance,
    Resource,
    Rule,
    Verdict,
    architecture_verdict,
    get,
    is_token,
    unresolved,
    values_at,
    violation,
)

JOB_TYPES = ("AWS::Batch::JobDefinition", "AWS::GammaDilithium::JobDefinition")  # the second mirrors Batch's schema
# A Fargate job's containers, each with its own RuntimePlatform: single-container and ECS-properties jobs.
CONTAINERS = ("ContainerProperties", "EcsProperties.TaskProperties[]")


def check(resource: Resource) -> Verdict:
    if resource.type not in JOB_TYPES:
        return NOT_APPLICABLE
    capabilities = resource.properties.get("PlatformCapabilities") or ["EC2"]
    if is_token(capabilities):
        return violation(unresolved(capabilities))
    if "FARGATE" not in capabilities:
        return NOT_APPLICABLE  # EC2 jobs run on the compute environment GG-EC2 checks
    containers = [c for path in CONTAINERS for c in values_at(resource.properties, path)] or [{}]
    verdicts = [
        architecture_verdict(
            get(container, "RuntimePlatform", "CpuArchitecture"),
            unset="X86_64 (RuntimePlatform.CpuArchitecture unset)",
        )
        for container in containers
    ]
    return next((v for v in verdicts if v.compliance is not Compliance.COMPLIANT), verdicts[0])


RULE = Rule(
    id="GG-BATCH",
    title="Batch jobs on Fargate run on ARM64",
    explanation="A Batch job definition for Fargate without RuntimePlatform.CpuArchitecture=ARM64 runs on X86_64.",
    fix="set runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64) on the Fargate "
    "container (CloudFormation: RuntimePlatform: {CpuArchitecture: ARM64})",
    applies_to=JOB_TYPES,
    check=check,
    cfn_fix="set RuntimePlatform: {CpuArchitecture: ARM64} in the job's Fargate container properties",
)
