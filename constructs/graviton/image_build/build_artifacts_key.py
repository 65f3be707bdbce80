"""BuildArtifactsKey: the customer KMS key an environment's builds encrypt their artifacts with."""

from __future__ import annotations

from aws_cdk import aws_kms as kms

from constructs import Construct


class BuildArtifactsKey(kms.Key):
    """A KMS key with yearly rotation for CodeBuild artifacts (image builds, the EKS apply build).

    :param description: what the key encrypts (default: "image build artifacts").
    """

    def __init__(self, scope: Construct, id: str, *, description: str = "image build artifacts") -> None:
        super().__init__(scope, id, enable_key_rotation=True, description=description)
