"""GG-ASSET: every Docker image asset is built for linux/arm64; no platform means the builder's machine."""

from __future__ import annotations

from graviton.constants import PLATFORM
from graviton.guardrails.rules import ASSET, ImageAsset, Rule, Verdict, compliant, violation


def check(asset: ImageAsset) -> Verdict:
    if asset.platform == PLATFORM:
        return compliant(PLATFORM)
    return violation(asset.platform or "the building machine's platform (no platform set)")


RULE = Rule(
    id="GG-ASSET",
    title="Docker image assets are built for linux/arm64",
    explanation="Without a platform, CDK builds an image asset for whatever machine runs Docker; "
    "ecs.ContainerImage.from_asset ignores the task's RuntimePlatform.",
    fix="pass platform=ecr_assets.Platform.LINUX_ARM64 to the asset (DockerImageAsset, "
    "ContainerImage.from_asset, DockerImageCode.from_image_asset); for a CodeBuild image, build a "
    "DockerImageAsset with it and use LinuxArmBuildImage.from_ecr_repository",
    applies_to=(ASSET,),
    check=check,
    cfn_fix="build the image for linux/arm64 (docker build --platform linux/arm64) before it is published",
)
