"""BuildArtifactsKey: the customer KMS key an environment's builds encrypt their artifacts with."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms

from constructs import Construct
from graviton.keys import KEY_PENDING_WINDOW


class BuildArtifactsKey(kms.Key):
    """A KMS key with yearly rotation for CodeBuild artifacts (image builds, the EKS apply build).

    Build artifacts go with their builds, so the key is deleted with its stack (after KMS's 7-day waiting period).

    :param description: what the key encrypts (default: "image build artifacts").
    :param removal_policy: what happens to the key when its stack is deleted (default: ``DESTROY``; ``RETAIN`` if
        you encrypt something with it that outlives the stack).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        description: str = "image build artifacts",
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(
            scope,
            id,
            enable_key_rotation=True,
            description=description,
            removal_policy=removal_policy,
            pending_window=KEY_PENDING_WINDOW,
        )
