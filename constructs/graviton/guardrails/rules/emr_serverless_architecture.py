"""GG-EMR-SERVERLESS: EMR Serverless applications run on ARM64; an unset Architecture means X86_64."""

from __future__ import annotations

from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, architecture_verdict


def check(resource: Resource) -> Verdict:
    if resource.type != "AWS::EMRServerless::Application":
        return NOT_APPLICABLE
    return architecture_verdict(resource.properties.get("Architecture"), unset="X86_64 (Architecture unset)")


RULE = Rule(
    id="GG-EMR-SERVERLESS",
    title="EMR Serverless runs on ARM64",
    explanation="AWS::EMRServerless::Application defaults to X86_64 when Architecture is unset.",
    fix="set architecture='ARM64' on the application (CloudFormation: Architecture: ARM64)",
    applies_to=("AWS::EMRServerless::Application",),
    check=check,
    cfn_fix="set Architecture: ARM64",
)
