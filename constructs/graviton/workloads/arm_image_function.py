"""ArmImageFunction: a container Lambda that runs on Graviton, always."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton import checkov
from graviton.arm64 import DEFAULT_LAMBDA_TIMEOUT, DEFAULT_LOG_RETENTION, LAMBDA_ARCHITECTURE
from graviton.constants import DEFAULT_LAMBDA_MEMORY_MB
from graviton.image_build.container_image import ContainerImage
from graviton.nag import acknowledge


class ArmImageFunction(Construct):
    """A `DockerImageFunction` on arm64 that runs the image an ArmImageBuild pushed to the project's ECR repository.

    There is no architecture parameter: the function is arm64 and nothing else. It refers to the image by its
    content-addressed tag and is created or updated only after the build has pushed that tag.

    :param image: the ArmImageBuild, PromotedImage or ExistingImage whose image the function runs (an
        ExistingImage's ``sha256:`` digest works as a tag does).
    :param memory_mb: memory in MB (default: 512).
    :param timeout: the longest one invocation may take (default: 10 seconds).
    :param reserved_concurrency: concurrent executions reserved for it (default: none reserved).
    :param environment: environment variables for the function (default: none).
    :param log_retention: how long the function's logs are kept (default: one month).

    X-Ray tracing is active: the image's Powertools Tracer sends its segments there.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: ContainerImage,
        memory_mb: int = DEFAULT_LAMBDA_MEMORY_MB,
        timeout: Duration = DEFAULT_LAMBDA_TIMEOUT,
        reserved_concurrency: int | None = None,
        environment: dict[str, str] | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        # An explicit role with write access to its own log group only, instead of the broad managed policy.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=lambda_.DockerImageCode.from_ecr(image.repository, tag_or_digest=image.image_tag),
            architecture=LAMBDA_ARCHITECTURE,
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment=environment or {},
            role=self.role,
            log_group=self.log_group,
        )
        self.function.node.add_dependency(image.image)
        _skip_function_checks(self.function, reserved_concurrency=reserved_concurrency, environment=environment or {})
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions",
        )


# What checkov's CKV_AWS_45 takes for an AWS secret access key: 40 characters of its alphabet, standing alone.
_LOOKS_LIKE_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def _skip_function_checks(
    function: lambda_.Function, *, reserved_concurrency: int | None, environment: dict[str, str]
) -> None:
    """checkov's Lambda checks that do not fit a function behind an HTTP API."""
    if reserved_concurrency is None:
        checkov.skip(
            function,
            "CKV_AWS_115",
            "reserved concurrency is the service's reserved_concurrency setting: reserving takes it from the"
            " account's pool whether used or not, so none is reserved unless asked for",
        )
    checkov.skip(
        function,
        "CKV_AWS_116",
        "the HTTP API invokes it synchronously and returns its error to the caller; a dead-letter queue receives"
        " only failed asynchronous invocations",
    )
    checkov.skip(function, "CKV_AWS_117", checkov.OUTSIDE_VPC)
    checkov.skip(function, "CKV_AWS_173", checkov.SETTINGS_ONLY_ENVIRONMENT)
    # Skipped only while no variable of the function's own looks like a secret: one that does is left to checkov.
    if not any(_LOOKS_LIKE_SECRET_KEY.search(value) for value in environment.values() if isinstance(value, str)):
        checkov.skip(
            function,
            "CKV_AWS_45",
            "false positive: checkov reads its own __file__ entry (the template's path) as a variable, and a path"
            " part of 40 letters and digits (cdk.out/<nested stack>) looks like an AWS secret key to it",
        )
