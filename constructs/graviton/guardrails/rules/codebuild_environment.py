"""GG-CODEBUILD: CodeBuild projects and fleets run on ARM compute."""

from __future__ import annotations

from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    compliant,
    fix_for_path,
    get,
    is_token,
    unresolved,
    violation,
)

ARM_TYPES = {"ARM_CONTAINER", "ARM_LAMBDA_CONTAINER"}
ARM_FLEET_TYPES = {"ARM_CONTAINER", "ARM_EC2"}
X86_ONLY_CDK_PARTS = {
    "ConfirmPermissionsBroadening": "CDK Pipelines' ConfirmPermissionsBroadening is hard-coded to x86: "
    "drop it, or build the security check as an ARM CodeBuild step",
}


def check(resource: Resource) -> Verdict:
    if resource.type == "AWS::CodeBuild::Project":
        environment_type = get(resource.properties, "Environment", "Type")
        allowed = ARM_TYPES | ({"ARM_EC2"} if get(resource.properties, "Environment", "Fleet") else set())
    elif resource.type == "AWS::CodeBuild::Fleet":
        environment_type = resource.properties.get("EnvironmentType")
        allowed = ARM_FLEET_TYPES
    else:
        return NOT_APPLICABLE
    if is_token(environment_type):
        return violation(unresolved(environment_type))
    if environment_type in allowed:
        return compliant(environment_type)
    part = fix_for_path(resource.path, X86_ONLY_CDK_PARTS)
    return violation(str(environment_type), part)


RULE = Rule(
    id="GG-CODEBUILD",
    title="CodeBuild runs on ARM compute",
    explanation="CodeBuild's LINUX_CONTAINER and friends are x86; ARM_CONTAINER / ARM_LAMBDA_CONTAINER "
    "(ARM_EC2 with a fleet) run on Graviton.",
    fix="use build_image=codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0",
    applies_to=("AWS::CodeBuild::Project", "AWS::CodeBuild::Fleet"),
    check=check,
    cfn_fix="set Environment.Type: ARM_CONTAINER with an aarch64 image "
    "(aws/codebuild/amazonlinux-aarch64-standard:3.0); a Fleet: EnvironmentType: ARM_CONTAINER",
)
