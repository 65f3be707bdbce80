"""What a workload runs: an image built here, one promoted from the environment that built it, or one that was
already in ECR."""

from __future__ import annotations

from graviton.image_build.arm_image_build import ArmImageBuild
from graviton.image_build.existing_image import ExistingImage
from graviton.image_build.promoted_image import PromotedImage

ContainerImage = ArmImageBuild | PromotedImage | ExistingImage


def image_reference(image: ContainerImage) -> str:
    """`<repository_uri>:<tag>`, or `<repository_uri>@sha256:...` for an image given by digest."""
    separator = "@" if image.image_tag.startswith("sha256:") else ":"
    return f"{image.repository.repository_uri}{separator}{image.image_tag}"
