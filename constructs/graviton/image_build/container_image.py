"""What a workload runs: an image built here, or one promoted from the environment that built it."""

from __future__ import annotations

from graviton.image_build.arm_image_build import ArmImageBuild
from graviton.image_build.promoted_image import PromotedImage

ContainerImage = ArmImageBuild | PromotedImage
