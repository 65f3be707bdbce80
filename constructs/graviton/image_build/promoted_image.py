"""PromotedImage: a service's image as another environment built it, by the same content tag and digest."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from constructs import Construct
from graviton.arm64 import CUSTOM_RESOURCE_TIMEOUT
from graviton.image_build.image_build_provider import ImageBuildProvider
from graviton.image_build.runtime.image_build_contract import (
    ATTR_IMAGE_DIGEST,
    ATTR_IMAGE_URI,
    ImageBuildProperties,
)
from graviton.image_build.source import image_tag

# Nothing is built: the check only looks the tag up.
_CHECK_TIMEOUT = Duration.minutes(5)


class PromotedImage(Construct):
    """The image the building environment's ArmImageBuild pushed for the same sources: nothing is built here.

    The tag is computed from the same context, Dockerfile and build args, so it names exactly the image the
    source environment runs, and immutable tags make it the same digest. A custom resource (the image-build
    handler, with no project) checks the tag exists before any workload uses it, and fails the deploy with what
    to deploy first when it does not.

    :param repository_name: the source environment's repository, `<project>-<source env>-<service>`.
    :param source_dir: the service's build context (for the tag).
    :param dockerfile: the Dockerfile's name in ``source_dir`` (default: ``Dockerfile``).
    :param build_args: the service's build args (default: none).
    :param account: the source environment's account (default: this stack's).
    :param region: the source environment's region (default: this stack's; Lambda and ECS pull in-region only).

    In a nested stack, its top-level stack's `ImageBuildProvider.allow_lookups` must cover the repository, with the
    same `account` and `region`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository_name: str,
        source_dir: Path,
        dockerfile: str = "Dockerfile",
        build_args: Mapping[str, str] | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        arn = stack.format_arn(
            service="ecr",
            resource="repository",
            resource_name=repository_name,
            account=account or stack.account,
            region=region or stack.region,
        )
        self.repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=arn, repository_name=repository_name
        )
        self.image_tag = image_tag(source_dir, dockerfile=dockerfile, build_args=build_args)
        self.properties = ImageBuildProperties(
            project_name="",
            repository_name=repository_name,
            repository_uri=self.repository.repository_uri,
            image_tag=self.image_tag,
            source_location="",
            timeout_seconds=int(_CHECK_TIMEOUT.to_seconds()),
        )
        provider = ImageBuildProvider.of(self)
        if Stack.of(provider) is stack:
            provider.role.add_to_principal_policy(iam.PolicyStatement(actions=["ecr:DescribeImages"], resources=[arn]))
        elif not provider.covers_lookup(repository_name=repository_name, account=account, region=region):
            # In a nested stack, a grant here would make the parent's role wait for this stack: see ImageBuildProvider.
            raise ValueError(
                f"PromotedImage: repository '{repository_name}' is looked up from a nested stack, and no "
                "ImageBuildProvider.allow_lookups of its top-level stack covers it in that account and region"
            )
        self.image = CustomResource(
            self,
            "Image",
            service_token=provider.service_token,
            resource_type="Custom::ArmImageBuild",
            properties=self.properties.to_cfn(),
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        self.image.node.add_dependency(provider.role)
        self.image_uri = self.image.get_att_string(ATTR_IMAGE_URI)
        self.image_digest = self.image.get_att_string(ATTR_IMAGE_DIGEST)
