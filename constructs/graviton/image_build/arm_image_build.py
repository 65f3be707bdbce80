"""ArmImageBuild: one service's image, built at deploy time natively on Graviton CodeBuild and pushed to ECR."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from aws_cdk import AssetHashType, CustomResource, Duration, IgnoreMode, RemovalPolicy, Stack, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

from constructs import Construct
from graviton.arm64 import (
    BUILD_COMPUTE,
    BUILD_IMAGE,
    CUSTOM_RESOURCE_TIMEOUT,
    DEFAULT_BUILD_TIMEOUT,
    DEFAULT_LOG_RETENTION,
)
from graviton.constants import BUILD_TIMEOUT_MINUTES, PLATFORM, PLATFORM_ARGS
from graviton.guardrails import elf
from graviton.guardrails.assembly import IMAGE_SOURCE_METADATA
from graviton.image_build import layer_scan
from graviton.image_build.image_build_provider import BUILD_ACTIONS, TAG_ACTIONS, ImageBuildProvider
from graviton.image_build.runtime.image_build_contract import (
    ATTR_IMAGE_DIGEST,
    ATTR_IMAGE_URI,
    ImageBuildProperties,
    encode_build_args,
)
from graviton.image_build.source import dockerignore_patterns, image_tag, is_ignored
from graviton.keys import stack_owned_key
from graviton.nag import acknowledge, arn, attribute, logical_id
from graviton.registry.image_repository import ImageRepository

BUILDSPEC = Path(__file__).with_name("buildspec.yml")
# The image scan the build runs before pushing, and what it imports; both standard library only.
LAYER_SCAN_MODULES: tuple[ModuleType, ...] = (elf, layer_scan)
# Ends each module's here-document; no line of a module may be just this.
MODULE_END = "GRAVITON_MODULE_END"


def build_spec() -> dict[str, Any]:
    """buildspec.yml, with a first build command that writes the image scanner's modules into the build.

    The build's source is the service's folder only, so the scanner travels in the buildspec: the library's own
    files at synth, at their package paths under a fresh `$LAYER_SCAN_HOME` (outside the build context)."""
    spec: dict[str, Any] = yaml.safe_load(BUILDSPEC.read_text())
    lines = ['LAYER_SCAN_HOME="$(mktemp -d)"']
    for module in LAYER_SCAN_MODULES:
        relative = module.__name__.replace(".", "/") + ".py"
        source = Path(str(module.__file__)).read_text()
        if MODULE_END in source.splitlines():
            raise ValueError(f"ArmImageBuild: {relative} has a line '{MODULE_END}', which would end its here-document")
        lines += [
            f'mkdir -p "$LAYER_SCAN_HOME/{Path(relative).parent}"',
            f"cat > \"$LAYER_SCAN_HOME/{relative}\" <<'{MODULE_END}'",
            source.rstrip("\n"),
            MODULE_END,
        ]
    spec["phases"]["build"]["commands"].insert(0, "\n".join(lines) + "\n")
    return spec


class ArmImageBuild(Construct):
    """Builds one service's image natively for linux/arm64 while the stack deploys; no local Docker involved.

    `cdk deploy` uploads ``source_dir`` as a file asset (a zip). A custom resource starts this construct's
    ARM_CONTAINER CodeBuild project for the content-addressed tag and waits for the pushed image; when the
    tag is already in the repository, nothing is built. Workloads use `repository` and `image_tag`, and
    depend on `image` so they never start before their image exists.

    :param repository: the service's ImageRepository; only this build's role may push to it.
    :param source_dir: the build context folder (holds the Dockerfile).
    :param dockerfile: the Dockerfile's name inside ``source_dir`` (default: ``Dockerfile``).
    :param build_args: ``--build-arg`` values; part of the tag (default: none).
    :param encryption_key: the KMS key for build artifacts (default: a new key with rotation, deleted with the stack).
    :param log_retention: how long build logs are kept (default: one month).
    :param timeout: the longest a build may take, waiting included; deploys fail after it (default: 30 minutes).
    :param sources_bucket: a bucket `docker-push` uploads contexts to, under ``<id>/`` (default: none, no manual
        builds).
    :param project_name: the CodeBuild project's name (default: one CloudFormation generates). A build in a nested
        stack needs one that its top-level stack's `ImageBuildProvider.allow_builds` covers, and so does the
        repository's name.
    :param role_name: the build role's name (default: one CloudFormation generates). A retained repository's policy
        names the roles that may push by ARN, and keeps them when a later stack adopts it: a fixed name keeps the
        next stack's build among them.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: ImageRepository,
        source_dir: Path,
        dockerfile: str = "Dockerfile",
        build_args: Mapping[str, str] | None = None,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        timeout: Duration = DEFAULT_BUILD_TIMEOUT,
        sources_bucket: s3.IBucket | None = None,
        project_name: str | None = None,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        build_args = dict(build_args or {})
        _refuse_bad_props(source_dir, dockerfile, build_args, timeout)
        provider = ImageBuildProvider.of(self)
        in_provider_stack = Stack.of(provider) is Stack.of(self)
        if not in_provider_stack:
            _refuse_uncovered(provider, project_name, repository.repository_name)
        self.repository = repository.repository
        self.image_tag = image_tag(source_dir, dockerfile=dockerfile, build_args=build_args)
        self.source = s3_assets.Asset(
            self,
            "Source",
            path=str(source_dir),
            exclude=dockerignore_patterns(source_dir),
            ignore_mode=IgnoreMode.DOCKER,
            asset_hash=self.image_tag,
            asset_hash_type=AssetHashType.CUSTOM,
        )
        key = encryption_key or stack_owned_key(self, "Key")
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        role = (
            iam.Role(self, "Role", role_name=role_name, assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
            if role_name
            else None  # the project's own, as CDK makes it
        )
        self.project = codebuild.Project(
            self,
            "Project",
            project_name=project_name,
            role=role,
            description=f"Builds {source_dir.name} natively for {PLATFORM} on Graviton",
            source=codebuild.Source.s3(bucket=self.source.bucket, path=self.source.s3_object_key),
            environment=codebuild.BuildEnvironment(
                build_image=BUILD_IMAGE,
                compute_type=BUILD_COMPUTE,
                privileged=True,  # the Docker daemon needs it
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in {
                    "IMAGE_REPOSITORY_URI": self.repository.repository_uri,
                    "IMAGE_REPOSITORY_NAME": self.repository.repository_name,
                    "IMAGE_TAG": self.image_tag,
                    "DOCKERFILE": dockerfile,
                    "PLATFORM": PLATFORM,
                    "BUILD_ARGS": encode_build_args(build_args),
                }.items()
            },
            build_spec=codebuild.BuildSpec.from_object(build_spec()),
            # Docker layers stay on the build host between builds, so a one-line change rebuilds one layer.
            cache=codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
            encryption_key=key,
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)),
            timeout=timeout,
        )
        # The guard reads this build's Dockerfile from the staged source at synth, as it reads an image asset's.
        self.project.node.default_child.add_metadata(
            IMAGE_SOURCE_METADATA, {"assetHash": self.source.asset_hash, "dockerfile": dockerfile}
        )
        repository.allow_push_from(self.project.role)
        if sources_bucket is not None:
            sources_bucket.grant_read(self.project, f"{id}/*")
            acknowledge(
                self.project.role.node.find_child("DefaultPolicy"),
                f"IAM5[Resource::{attribute(self, sources_bucket.node.default_child, 'Arn')}/{id}/*]",
                "read of the contexts docker-push uploads for this service only",
            )
        self.properties = ImageBuildProperties(
            project_name=self.project.project_name,
            repository_name=self.repository.repository_name,
            repository_uri=self.repository.repository_uri,
            image_tag=self.image_tag,
            source_location=f"{self.source.s3_bucket_name}/{self.source.s3_object_key}",
            timeout_seconds=int(timeout.to_seconds()),
        )
        if in_provider_stack:
            self._grant_provider(provider.role)
        self.image = CustomResource(
            self,
            "Image",
            service_token=provider.service_token,
            resource_type="Custom::ArmImageBuild",
            properties=self.properties.to_cfn(),
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        # The build must exist, with its role allowed to push, before the handler starts it; and the provider's role
        # with its grants (in a nested stack: the nested stack waits for the parent's role, which names none of it).
        self.image.node.add_dependency(self.project, self.project.role, self.repository, provider.role)
        self.image_uri = self.image.get_att_string(ATTR_IMAGE_URI)
        self.image_digest = self.image.get_att_string(ATTR_IMAGE_DIGEST)
        self._acknowledge_build_role_findings()

    @property
    def role(self) -> iam.IRole:
        return self.project.role

    def _grant_provider(self, role: iam.IRole) -> None:
        """The handler starts and watches this project's builds and looks up this repository's tags.

        It lists the project's builds to find one it started on an earlier poll, after waiting for capacity. It
        removes a build's stray `candidate-*` tag from an image it reuses (`existing_digest`): IAM cannot scope
        `ecr:BatchDeleteImage` to a tag, so it is scoped to this repository.
        """
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(BUILD_ACTIONS), resources=[self.project.project_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(TAG_ACTIONS), resources=[self.repository.repository_arn])
        )

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


def _refuse_uncovered(provider: ImageBuildProvider, project_name: str | None, repository_name: str) -> None:
    """A build in a nested stack runs only on its top-level stack's patterns: refuse at synth one they miss."""
    if project_name is None or Token.is_unresolved(project_name):
        raise ValueError(
            "ArmImageBuild: a build in a nested stack needs a project_name its top-level stack's "
            "ImageBuildProvider.allow_builds covers"
        )
    if not provider.covers_build(project_name=project_name, repository_name=repository_name):
        raise ValueError(
            f"ArmImageBuild: project '{project_name}' with repository '{repository_name}' is in a nested stack, and "
            "no ImageBuildProvider.allow_builds of its top-level stack covers both names"
        )


def _refuse_bad_props(source_dir: Path, dockerfile: str, build_args: Mapping[str, str], timeout: Duration) -> None:
    """Refuse at synth what would only fail, or build something else, at deploy."""
    if not (source_dir / dockerfile).is_file():
        raise ValueError(f"ArmImageBuild: dockerfile '{dockerfile}' does not exist in {source_dir}")
    if is_ignored(source_dir, dockerfile):
        raise ValueError(f"ArmImageBuild: {source_dir}/.dockerignore leaves out '{dockerfile}'; the build needs it")
    overridden = sorted(PLATFORM_ARGS & set(build_args))
    if overridden:
        raise ValueError(f"ArmImageBuild: build_args may not set '{overridden[0]}': the platform is {PLATFORM}")
    low, high = BUILD_TIMEOUT_MINUTES
    minutes = timeout.to_seconds() / 60
    if not minutes.is_integer() or not low <= minutes <= high:
        raise ValueError(f"ArmImageBuild: timeout must be whole minutes from {low} to {high}, not {minutes:g} minutes")
