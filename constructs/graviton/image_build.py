"""ArmImageBuild: a CodeBuild project on Graviton that builds one service's image natively for arm64."""

from __future__ import annotations

from pathlib import Path

import yaml
from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets

from constructs import Construct
from graviton.constants import BUILD_COMPUTE, BUILD_IMAGE, DEFAULT_BUILD_TIMEOUT, PLATFORM
from graviton.nag import acknowledge, arn, logical_id

BUILDSPEC = Path(__file__).with_name("buildspec.yml")


def dockerignore_patterns(source_dir: Path) -> list[str]:
    """The folder's .dockerignore patterns, so the uploaded context matches what `docker build` sends."""
    ignore_file = source_dir / ".dockerignore"
    if not ignore_file.is_file():
        return []
    lines = (line.strip() for line in ignore_file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class ArmImageBuild(Construct):
    """Uploads a Docker build context as a file asset and builds it on an ARM_CONTAINER CodeBuild project.

    :param repository: the ECR repository the build pushes to.
    :param source_dir: the build context folder (holds the Dockerfile).
    :param dockerfile: the Dockerfile's name inside ``source_dir`` (default: ``Dockerfile``).
    :param encryption_key: the KMS key for build artifacts (default: a new key with rotation).
    :param log_retention: how long build logs are kept (default: one month).
    :param timeout: the longest one build may take (default: 30 minutes).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: ecr.IRepository,
        source_dir: Path,
        dockerfile: str = "Dockerfile",
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        timeout: Duration = DEFAULT_BUILD_TIMEOUT,
    ) -> None:
        super().__init__(scope, id)
        if not (source_dir / dockerfile).is_file():
            raise ValueError(f"ArmImageBuild: dockerfile '{dockerfile}' does not exist in {source_dir}")
        key = encryption_key or kms.Key(self, "Key", enable_key_rotation=True)
        self.source = s3_assets.Asset(
            self,
            "Source",
            path=str(source_dir),
            exclude=dockerignore_patterns(source_dir),
            ignore_mode=IgnoreMode.DOCKER,
        )
        # The source asset's hash is the tag: unchanged sources give the same tag, changed ones a new one.
        self.image_tag = self.source.asset_hash
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.project = codebuild.Project(
            self,
            "Project",
            description=f"Builds {source_dir.name} natively for {PLATFORM} on Graviton",
            source=codebuild.Source.s3(bucket=self.source.bucket, path=self.source.s3_object_key),
            environment=codebuild.BuildEnvironment(
                build_image=BUILD_IMAGE,
                compute_type=BUILD_COMPUTE,
                privileged=True,  # the Docker daemon needs it
            ),
            environment_variables={
                "IMAGE_REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=repository.repository_uri),
                "IMAGE_TAG": codebuild.BuildEnvironmentVariable(value=self.image_tag),
                "DOCKERFILE": codebuild.BuildEnvironmentVariable(value=dockerfile),
                "PLATFORM": codebuild.BuildEnvironmentVariable(value=PLATFORM),
            },
            build_spec=codebuild.BuildSpec.from_object(yaml.safe_load(BUILDSPEC.read_text())),
            encryption_key=key,
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)),
            timeout=timeout,
        )
        repository.grant_pull_push(self.project)
        self._acknowledge_build_role_findings()

    def _acknowledge_build_role_findings(self) -> None:
        """The wildcards CDK's CodeBuild grants write; each is scoped to this build's own resources."""
        policy = self.project.role.node.find_child("DefaultPolicy")
        project = logical_id(self.project.node.default_child)
        default_logs = arn(self, "logs", f"log-group:/aws/codebuild/<{project}>:*")
        report_groups = arn(self, "codebuild", f"report-group/<{project}>-*")
        reasons = {
            "IAM5[Action::s3:GetBucket*]": "read of the build's own source zip in the CDK assets bucket",
            "IAM5[Action::s3:GetObject*]": "read of the build's own source zip in the CDK assets bucket",
            "IAM5[Action::s3:List*]": "listing of the CDK assets bucket that holds the build's source zip",
            "IAM5[Action::kms:GenerateDataKey*]": "data keys from the build's own KMS key only",
            "IAM5[Action::kms:ReEncrypt*]": "re-encryption with the build's own KMS key only",
            "IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permissions",
            f"IAM5[Resource::{default_logs}]": "log streams of this project's default CodeBuild log group",
            f"IAM5[Resource::{report_groups}]": "report groups named after this project only",
        }
        for finding, reason in reasons.items():
            acknowledge(policy, finding, reason)
        acknowledge(self.project, "CB3", "docker buildx needs privileged mode to run the Docker daemon")
