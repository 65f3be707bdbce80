"""The ECR repository that holds one service's arm64 images in one environment."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr

from constructs import Construct


class ImageRepository(Construct):
    """An ECR repository with scan on push, immutable tags and encryption.

    :param repository_name: the repository's name, `<project>-<environment>-<service>`.
    :param retain: keep the repository and its images when the stack is deleted (default: False,
        the repository is emptied and removed).
    """

    def __init__(self, scope: Construct, id: str, *, repository_name: str, retain: bool = False) -> None:
        super().__init__(scope, id)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            # A tag names one build of one source tree: it must never move to other bits.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            empty_on_delete=not retain,
        )
