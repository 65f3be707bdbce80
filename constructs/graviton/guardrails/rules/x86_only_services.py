"""GG-X86-ONLY: services that run x86_64 only and have no architecture to set are refused, with what to use."""

from __future__ import annotations

from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, values_at, violation

# Where CloudFront attaches Lambda@Edge functions: the default behaviour and each other behaviour.
EDGE_ASSOCIATIONS = (
    "DistributionConfig.DefaultCacheBehavior.LambdaFunctionAssociations[]",
    "DistributionConfig.CacheBehaviors[].LambdaFunctionAssociations[]",
)
EDGE_FIX = "use a CloudFront Function (cloudfront.Function, no architecture), or move the logic into the arm64 origin"
FARGATE_PROFILE_FIX = (
    "run the pods on a Graviton managed node group (graviton.ArmEksCluster), or the service on ECS Fargate ARM64"
)


def check(resource: Resource) -> Verdict:
    if resource.type == "AWS::EKS::FargateProfile":
        return violation("x86_64 (EKS on Fargate runs x86 pods only)", FARGATE_PROFILE_FIX)
    edge = any(values_at(resource.properties, path) for path in EDGE_ASSOCIATIONS)
    if resource.type == "AWS::CloudFront::Distribution" and edge:
        return violation("x86_64 (Lambda@Edge functions must be x86_64)", EDGE_FIX)
    return NOT_APPLICABLE


RULE = Rule(
    id="GG-X86-ONLY",
    title="No x86-only services",
    explanation="EKS Fargate profiles run x86 pods only, and CloudFront replicates only x86_64 functions to the "
    "edge (Lambda@Edge); neither has an architecture to set.",
    fix=FARGATE_PROFILE_FIX,
    applies_to=("AWS::EKS::FargateProfile", "AWS::CloudFront::Distribution"),
    check=check,
    cfn_fix="EKS pods: an AWS::EKS::Nodegroup with Graviton InstanceTypes and AmiType AL2023_ARM_64_STANDARD; "
    "Lambda@Edge: an AWS::CloudFront::Function, or the logic in the arm64 origin",
)
