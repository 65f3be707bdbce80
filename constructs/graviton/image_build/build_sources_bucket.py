"""BuildSourcesBucket: where `docker-push` uploads build contexts; each build reads only its own prefix."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3

from constructs import Construct
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
