"""How the guard treats each Lambda function CDK itself makes (pure data, read by remediation.py and the tests).

`HANDLERS` has one entry per folder of `custom-resource-handlers/dist/` in the pinned aws-cdk-lib (CDK's own
handler code); `OTHER_HANDLERS` has the ones CDK keeps elsewhere. tests/graviton/guardrails/test_cdk_handlers.py
fails when the installed aws-cdk-lib has a folder neither table decides, so an upgrade cannot add an unnoticed
x86 function.

Recognition uses only what CDK controls: construct classes and the construct ids CDK reserves (its fixed
singleton UUIDs, its provider ids), never an id a user chose. Everything here was read from aws-cdk-lib 2.275.0's
JavaScript (`<module>/lib/*.js` and `custom-resource-handlers/dist/*/*.generated.js`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from graviton.guardrails.rules.lambda_architecture import X86_ONLY_CDK_PARTS


class Status(Enum):
    REMEDIATED = "remediated"  # the guard sets Architectures [arm64] on it
    REFUSED = "refused"  # x86-only code: synth fails, the fix names what to use instead
    ARM64_BY_CDK = "arm64 by CDK"  # CDK already builds it arm64; the guard only checks it
    NOT_A_FUNCTION = "not a function"  # code CDK copies into other functions' assets


@dataclass(frozen=True)
class StackSingleton:
    """A function CDK puts once per stack under a construct id derived from a fixed UUID."""

    ids: tuple[str, ...]
    label: str = ""  # what the report calls it, where not "CDK <handler>"


@dataclass(frozen=True)
class NestedProvider:
    """A construct (a NestedStack or a plain construct) CDK puts once per stack under a reserved id; the functions
    are its children."""

    id: str
    functions: tuple[str, ...]


@dataclass(frozen=True)
class ChildOf:
    """A function CDK creates under a fixed child path of an instance of one of its construct classes
    (`module:Class` in the aws_cdk Python package; imported only when remediation runs)."""

    construct: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class ProviderBase:
    """A `CustomResourceProviderBase` subclass of CDK's (not the public `CustomResourceProvider`, which runs the
    user's code): its function is the raw `Handler` resource."""


@dataclass(frozen=True)
class ProviderFramework:
    """The framework functions of a `custom_resources.Provider` (CDK's code around the user's handlers)."""

    ids: tuple[str, ...] = ("framework-onEvent", "framework-isComplete", "framework-onTimeout")


Recognition = StackSingleton | NestedProvider | ChildOf | ProviderBase | ProviderFramework


@dataclass(frozen=True)
class Handling:
    status: Status
    what: str  # the construct(s) that create it, as a user would write them
    reason: str  # how it is recognised (REMEDIATED), the alternative (REFUSED), or why nothing is done
    recognised_by: tuple[Recognition, ...] = field(default_factory=tuple)


def singleton_id(purpose: str, uuid: str) -> str:
    """The construct id `lambda.SingletonFunction` gives its stack-level function: purpose + uuid, alphanumerics only
    (aws-lambda/lib/singleton-lambda.js `slugify`)."""
    return purpose + "".join(c for c in uuid if c.isalnum())


# EvaluateExpression's x86 singletons, one fixed UUID per Node runtime (the ARM_64 ones are already arm64).
EVAL_X86_UUIDS = (
    "a5c17f50-0de1-497b-8ec0-fabdc9086cc5",
    "b64e1fb8-9c89-4f7d-8a34-2e2a1c5f6d7e",
    "9757c267-6d7c-45c2-af77-37a30d93d2c6",
    "078d40d3-fb4e-4d53-94a7-9c46fc11fe02",
    "2a430b68-eb4b-4026-9232-ee39b71c1db8",
    "da2d1181-604e-4a45-8694-1a6abd7fe42d",
    "2b81e383-aad2-44db-8aaf-b4809ae0e3b4",
    "a0d2ce44-871b-4e74-87a1-f5e63d7c3bdc",
    "41256dc5-4457-4273-8ed9-17bc818694e5",
)

PROVIDER_BASE = (ProviderBase(),)
KUBECTL_ALTERNATIVE = X86_ONLY_CDK_PARTS["KubectlProvider"]

HANDLERS: dict[str, Handling] = {
    "aws-certificatemanager/dns-validated-certificate-handler": Handling(
        Status.REMEDIATED,
        "certificatemanager.DnsValidatedCertificate",
        "its CertificateRequestorFunction child",
        (ChildOf("aws_cdk.aws_certificatemanager:DnsValidatedCertificate", ("CertificateRequestorFunction",)),),
    ),
    "aws-cloudfront/edge-function": Handling(
        Status.REMEDIATED,
        "cloudfront.experimental.EdgeFunction outside us-east-1 (its cross-region SSM parameter reader)",
        "CrossRegionStringParamReaderProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-dynamodb/replica-handler": Handling(
        Status.REMEDIATED,
        "dynamodb.Table(replication_regions=...)",
        "the reserved NestedStack @aws-cdk/aws-dynamodb.ReplicaProvider and its two handlers",
        (NestedProvider("@aws-cdk/aws-dynamodb.ReplicaProvider", ("OnEventHandler", "IsCompleteHandler")),),
    ),
    "aws-ec2/restrict-default-security-group-handler": Handling(
        Status.REMEDIATED,
        "ec2.Vpc(restrict_default_security_group=True)",
        "RestrictDefaultSgProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-ecr/auto-delete-images-handler": Handling(
        Status.REMEDIATED,
        "ecr.Repository(auto_delete_images=True) (empty_on_delete is CloudFormation's EmptyOnDelete)",
        "AutoDeleteImagesProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-ecs/lambda-source": Handling(
        Status.REMEDIATED,
        "ecs.Cluster.add_capacity / add_auto_scaling_group (the instance drain hook)",
        "the DrainECSHook/Function CDK adds under the AutoScalingGroup",
        (ChildOf("aws_cdk.aws_autoscaling:AutoScalingGroup", ("DrainECSHook", "Function")),),
    ),
    "aws-eks-v2/kubectl-handler": Handling(
        Status.REFUSED, "eks_v2.Cluster with a kubectl provider", KUBECTL_ALTERNATIVE
    ),
    "aws-eks/cluster-resource-handler": Handling(
        Status.REMEDIATED,
        "eks.Cluster",
        "the reserved NestedStack @aws-cdk/aws-eks.ClusterResourceProvider and its two handlers",
        (NestedProvider("@aws-cdk/aws-eks.ClusterResourceProvider", ("OnEventHandler", "IsCompleteHandler")),),
    ),
    "aws-eks/kubectl-handler": Handling(Status.REFUSED, "eks.Cluster's kubectl provider", KUBECTL_ALTERNATIVE),
    "aws-events-targets/aws-api-handler": Handling(
        Status.REMEDIATED,
        "events_targets.AwsApi",
        "its singleton id (purpose AWS, fixed UUID)",
        (StackSingleton((singleton_id("AWS", "b4cf1abd-4e4f-4bc6-9944-1af7ccd9ec37"),)),),
    ),
    "aws-glue/partition-index-handler": Handling(
        Status.REMEDIATED,
        "glue.S3Table(partition_indexes=...) / add_partition_index",
        "the reserved construct @aws-cdk/aws-glue-alpha.PartitionIndexProvider and its two handlers",
        (NestedProvider("@aws-cdk/aws-glue-alpha.PartitionIndexProvider", ("Handler", "IsComplete")),),
    ),
    "aws-iam/oidc-handler": Handling(
        Status.REMEDIATED,
        "iam.OpenIdConnectProvider",
        "OidcProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-logs/log-retention-handler": Handling(
        Status.REMEDIATED,
        "logs.LogRetention (and log_retention= on functions and other constructs)",
        "its singleton id (purpose LogRetention, fixed UUID)",
        (StackSingleton((singleton_id("LogRetention", "aae0aa3c-5b4d-4f87-b02d-85b201efdd8a"),), "LogRetention"),),
    ),
    "aws-route53/cross-account-zone-delegation-handler": Handling(
        Status.REMEDIATED,
        "route53.CrossAccountZoneDelegationRecord",
        "CrossAccountZoneDelegationProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-route53/delete-existing-record-set-handler": Handling(
        Status.REMEDIATED,
        "route53 record sets with delete_existing=True",
        "DeleteExistingRecordSetProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-s3-deployment/bucket-deployment-handler": Handling(
        Status.ARM64_BY_CDK,
        "s3_deployment.BucketDeployment",
        "bucket-deployment.js passes architecture ARM_64 to its SingletonFunction; the guard checks it as any function",
    ),
    "aws-s3/auto-delete-objects-handler": Handling(
        Status.REMEDIATED,
        "s3.Bucket(auto_delete_objects=True)",
        "AutoDeleteObjectsProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "aws-s3/notifications-resource-handler": Handling(
        Status.REMEDIATED,
        "bucket notifications (s3.Bucket.add_event_notification, event_bridge_enabled=True)",
        "the reserved singleton id of BucketNotificationsHandler, an inline function built as a raw CfnResource",
        (StackSingleton(("BucketNotificationsHandler050a0587b7544547bf325f094a3db834",)),),
    ),
    "aws-ses/drop-spam-handler": Handling(
        Status.REMEDIATED,
        "ses.ReceiptRuleSet(drop_spam=True) / ses.DropSpamReceiptRule",
        "its singleton id (default purpose, fixed UUID)",
        (StackSingleton((singleton_id("SingletonLambda", "224e77f9-a32e-4b4d-ac32-983477abba16"),)),),
    ),
    "aws-stepfunctions-tasks/cross-region-aws-sdk-handler": Handling(
        Status.REMEDIATED,
        "stepfunctions_tasks.CallAwsServiceCrossRegion",
        "its singleton id (purpose CrossRegionAwsSdk, fixed UUID)",
        (StackSingleton((singleton_id("CrossRegionAwsSdk", "8a0c93f3-dbef-4b71-ac13-7aaf2048ce7e"),)),),
    ),
    "aws-stepfunctions-tasks/eval-nodejs-handler": Handling(
        Status.REMEDIATED,
        "stepfunctions_tasks.EvaluateExpression",
        "its x86 singleton ids (purpose Eval, one fixed UUID per runtime), or the EvalFunction child of an "
        "EvaluateExpression when the dedicated-function feature flag is on",
        (
            StackSingleton(tuple(singleton_id("Eval", uuid) for uuid in EVAL_X86_UUIDS)),
            ChildOf("aws_cdk.aws_stepfunctions_tasks:EvaluateExpression", ("EvalFunction",)),
        ),
    ),
    "aws-stepfunctions-tasks/role-policy-handler": Handling(
        Status.REMEDIATED,
        "stepfunctions_tasks.EmrContainersStartJobRun (the job role trust-policy update)",
        "its singleton id (default purpose, fixed UUID); its AWS CLI layer is Python, not a binary",
        (StackSingleton((singleton_id("SingletonLambda", "8693BB64-9689-44B6-9AAF-B0CC9EB8757C"),)),),
    ),
    "aws-synthetics/auto-delete-underlying-resources-handler": Handling(
        Status.REMEDIATED,
        "synthetics.Canary(cleanup=Cleanup.LAMBDA)",
        "AutoDeleteUnderlyingResourcesProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "core/nodejs-entrypoint-handler": Handling(
        Status.NOT_A_FUNCTION,
        "every CustomResourceProviderBase subclass",
        "CDK copies it as __entrypoint__.js into each core provider's code asset; it is no function of its own",
    ),
    "custom-resources/aws-custom-resource-handler": Handling(
        Status.REMEDIATED,
        "custom_resources.AwsCustomResource (also used by Cognito, OpenSearch, EMR containers, ...)",
        "its singleton id (purpose AWS, fixed UUID)",
        (
            StackSingleton(
                (singleton_id("AWS", "679f53fa-c002-430c-b0da-5b7982bd2287"),), "AwsCustomResource singleton"
            ),
        ),
    ),
    "pipelines/approve-lambda": Handling(
        Status.REMEDIATED,
        "pipelines.ConfirmPermissionsBroadening",
        "the PipelinesSecurityCheck/CDKPipelinesAutoApprove child CDK adds under the CodePipeline",
        (ChildOf("aws_cdk.pipelines:CodePipeline", ("PipelinesSecurityCheck", "CDKPipelinesAutoApprove")),),
    ),
    "triggers/lambda": Handling(
        Status.REMEDIATED,
        "triggers.Trigger / triggers.TriggerFunction",
        "TriggerProvider, a CustomResourceProviderBase subclass (the trigger's own function is the user's)",
        PROVIDER_BASE,
    ),
}

# CDK's functions whose code is outside custom-resource-handlers/dist: folder (in the aws-cdk-lib package) -> handling.
OTHER_HANDLERS: dict[str, Handling] = {
    "core/lib/dist/core/cfn-utils-provider": Handling(
        Status.REMEDIATED,
        "CfnJson (used by eks.Cluster, ...)",
        "CfnUtilsProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "core/lib/dist/core/cross-region-ssm-reader-handler": Handling(
        Status.REMEDIATED,
        "cross-region references (cross_region_references=True), the importing stack",
        "CrossRegionSsmReaderProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "core/lib/dist/core/cross-region-ssm-writer-handler": Handling(
        Status.REMEDIATED,
        "cross-region references (cross_region_references=True), the exporting stack",
        "CrossRegionSsmWriterProvider, a CustomResourceProviderBase subclass",
        PROVIDER_BASE,
    ),
    "custom-resources/lib/provider-framework/runtime": Handling(
        Status.REMEDIATED,
        "custom_resources.Provider (the framework functions around the user's handlers)",
        "the framework-* children of a custom_resources.Provider",
        (ProviderFramework(),),
    ),
}


def recognitions() -> list[tuple[Recognition, str]]:
    """(how to recognise, the handler key) for every REMEDIATED handler of both tables."""
    return [
        (recognition, key)
        for key, handling in {**HANDLERS, **OTHER_HANDLERS}.items()
        if handling.status is Status.REMEDIATED
        for recognition in handling.recognised_by
    ]
