"""BuildSourcesBucket: where `docker-push` uploads build contexts; each build reads only its own prefix."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3

from constructs import Construct
from graviton import checkov
from graviton.constants import BUILD_SOURCES_DAYS
from graviton.nag import acknowledge


class BuildSourcesBucket(s3.Bucket):
    """A private, TLS-only, S3-encrypted bucket whose objects expire, emptied and removed with its stack.

    Give it to ArmImageBuild as `sources_bucket`: the build may then read `<build id>/*` and nothing else.

    :param expiration_days: how long an uploaded context is kept; it feeds one build (default: 7).
    """

    def __init__(self, scope: Construct, id: str, *, expiration_days: int = BUILD_SOURCES_DAYS) -> None:
        super().__init__(
            scope,
            id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(expiration_days))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        acknowledge(
            self,
            "S1",
            f"holds build contexts for {expiration_days} days; uploads are recorded by CloudTrail, the builds in"
            " CodeBuild",
        )
        checkov.skip(
            self,
            "CKV_AWS_18",
            f"holds build contexts for {expiration_days} days; uploads are recorded by CloudTrail, the builds in"
            " CodeBuild",
        )
        checkov.skip(
            self,
            "CKV_AWS_21",
            "each build context is uploaded once under a key of its own and read by one build; versions would only"
            " keep expired contexts",
        )
        _skip_auto_delete_provider_checks(self)


# The stack-wide provider CDK adds for auto_delete_objects (a CfnResource function, no L2).
_AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


def _skip_auto_delete_provider_checks(scope: Construct) -> None:
    """checkov's Lambda checks on the function CDK adds to empty auto_delete_objects buckets on delete."""
    provider = Stack.of(scope).node.try_find_child(_AUTO_DELETE_PROVIDER)
    handler = provider.node.try_find_child("Handler") if provider else None
    if not isinstance(handler, CfnResource) or checkov.skips(handler):
        return  # another bucket of the stack skipped them already
    for check_id, reason in (
        ("CKV_AWS_115", "CDK's auto-delete-objects function: CloudFormation calls it once per bucket deletion"),
        (
            "CKV_AWS_116",
            "CDK's auto-delete-objects function answers CloudFormation itself, which reports a failed deletion; no"
            " event waits in a queue",
        ),
        ("CKV_AWS_117", "CDK's auto-delete-objects function calls only the S3 API; a VPC would add nothing but NAT"),
    ):
        checkov.skip(handler, check_id, reason)
