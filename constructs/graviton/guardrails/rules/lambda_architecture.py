"""GG-LAMBDA: every Lambda function (and SAM function) runs on arm64; a missing Architectures means x86_64."""

from __future__ import annotations

from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    compliant,
    fix_for_path,
    is_token,
    unresolved,
    violation,
)

# CDK parts whose function code is x86-only: remediation must not switch them, the user must replace them.
X86_ONLY_CDK_PARTS = {
    "KubectlProvider": "the EKS kubectl handler's layer ships amd64 kubectl/helm binaries: build the cluster "
    "without a kubectl handler (aws_eks_v2 without kubectl provider, or the L1 resources) and apply "
    "workloads from an ARM CodeBuild step",
}


# Paths of CDK's own functions: found x86, they sit in a scope whose guard() never ran.
CDK_OWN_FUNCTION_MARKERS = (
    "CustomResourceProvider/Handler",
    "/framework-on",
    "AWS679f53fac002430cb0da5b7982bd2287",
    "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a",
    # the rest of cdk_handlers.HANDLERS' reserved ids, as they appear in paths ("/" in an id becomes "--")
    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
    "AWSb4cf1abd4e4f4bc699441af7ccd9ec37",
    "SingletonLambda224e77f9a32e4b4dac32983477abba16",
    "CrossRegionAwsSdk8a0c93f3dbef4b71ac137aaf2048ce7e",
    "SingletonLambda8693BB64968944B69AAFB0CC9EB8757C",
    "@aws-cdk--aws-eks.ClusterResourceProvider",
    "@aws-cdk--aws-dynamodb.ReplicaProvider",
    "@aws-cdk--aws-glue-alpha.PartitionIndexProvider",
    "/CertificateRequestorFunction/",
    "/DrainECSHook/Function/",
    "/PipelinesSecurityCheck/CDKPipelinesAutoApprove/",
    "/EvalFunction/",
)
UNGUARDED_FIX = (
    "this is CDK's own function in an unguarded Stage: subclass graviton.guardrails.GuardedStage "
    "(or call guard(self) in the Stage's constructor) so it is switched to arm64"
)


FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
# A SAM template is plain CloudFormation to its authors: the fix names the property, not a CDK call.
SAM_FIX = "set Architectures: [arm64] on the function or in Globals.Function"


def check(resource: Resource) -> Verdict:
    if resource.type not in FUNCTION_TYPES:
        return NOT_APPLICABLE
    architectures = resource.properties.get("Architectures")
    if is_token(architectures) or any(is_token(a) for a in architectures or []):
        return violation(unresolved(architectures))
    if architectures == ["arm64"]:
        return compliant("arm64")
    found = "x86_64 (Architectures unset)" if architectures is None else ",".join(architectures)
    if resource.type == "AWS::Serverless::Function":
        return violation(found, SAM_FIX)
    part = fix_for_path(resource.path, X86_ONLY_CDK_PARTS)
    if part is None and any(marker in resource.path for marker in CDK_OWN_FUNCTION_MARKERS):
        part = UNGUARDED_FIX
    return violation(found, part)


RULE = Rule(
    id="GG-LAMBDA",
    title="Lambda functions run on arm64",
    explanation="AWS::Lambda::Function and AWS::Serverless::Function (after SAM's Globals) default to x86_64 "
    "when Architectures is unset; it must be exactly [arm64].",
    fix="set architecture=lambda_.Architecture.ARM_64",
    applies_to=FUNCTION_TYPES,
    check=check,
    cfn_fix="set Architectures: [arm64]",
)
