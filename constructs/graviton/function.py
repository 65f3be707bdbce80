"""ArmImageFunction: a container Lambda that runs on Graviton, always."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton.constants import DEFAULT_LAMBDA_MEMORY_MB, DEFAULT_LAMBDA_TIMEOUT, LAMBDA_ARCHITECTURE


class ArmImageFunction(Construct):
    """A `DockerImageFunction` on arm64 that runs an image from one of the project's ECR repositories.

    There is no architecture parameter: the function is arm64 and nothing else.

    :param repository: the ECR repository that holds the image.
    :param tag: the image tag (or ``sha256:`` digest) to run.
    :param memory_mb: memory in MB (default: 512).
    :param timeout: the longest one invocation may take (default: 10 seconds).
    :param environment: environment variables for the function (default: none).
    :param log_retention: how long the function's logs are kept (default: one month).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: ecr.IRepository,
        tag: str,
        memory_mb: int = DEFAULT_LAMBDA_MEMORY_MB,
        timeout: Duration = DEFAULT_LAMBDA_TIMEOUT,
        environment: dict[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        # An explicit role with write access to its own log group only, instead of the broad managed policy.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=tag),
            architecture=LAMBDA_ARCHITECTURE,
            memory_size=memory_mb,
            timeout=timeout,
            environment=environment or {},
            role=self.role,
            log_group=self.log_group,
        )
