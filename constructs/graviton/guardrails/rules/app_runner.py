"""GG-APPRUNNER: App Runner services are refused; it runs x86_64 only and is closed to new customers."""

from __future__ import annotations

from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, violation


def check(resource: Resource) -> Verdict:
    if resource.type != "AWS::AppRunner::Service":
        return NOT_APPLICABLE
    return violation("x86_64 (App Runner has no arm64 option)")


RULE = Rule(
    id="GG-APPRUNNER",
    title="No App Runner",
    explanation="App Runner runs x86_64 only and stopped accepting new customers on 2026-04-30.",
    fix="run the container on ECS Fargate with RuntimePlatform ARM64 behind a load balancer",
    applies_to=("AWS::AppRunner::Service",),
    check=check,
    cfn_fix="replace the AWS::AppRunner::Service with an AWS::ECS::Service on Fargate with "
    "RuntimePlatform.CpuArchitecture: ARM64",
)
