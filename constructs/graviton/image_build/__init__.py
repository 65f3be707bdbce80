"""Deploy-time arm64 image builds: a file asset, an ARM CodeBuild project, and a custom resource that waits."""

from graviton.image_build.construct import ArmImageBuild
from graviton.image_build.source import image_tag

__all__ = ["ArmImageBuild", "image_tag"]
