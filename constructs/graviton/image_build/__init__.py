"""Deploy-time arm64 image builds: a file asset, an ARM CodeBuild project, and a custom resource that waits."""

from graviton.image_build.construct import ArmImageBuild
from graviton.image_build.promoted import PromotedImage
from graviton.image_build.source import image_tag

# What a workload runs: an image built here, or one promoted from the environment that built it.
ContainerImage = ArmImageBuild | PromotedImage

__all__ = ["ArmImageBuild", "ContainerImage", "PromotedImage", "image_tag"]
