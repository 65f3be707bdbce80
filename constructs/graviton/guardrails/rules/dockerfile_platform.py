"""GG-DOCKERFILE: the Dockerfile of an image asset or an ArmImageBuild pins no platform but arm64 or its own."""

from __future__ import annotations

import re

from graviton.constants import PLATFORM
from graviton.guardrails.rules import ASSET, NOT_APPLICABLE, ImageAsset, Rule, Verdict, compliant, violation

_FROM_PLATFORM = re.compile(r"^\s*FROM\s+--platform=(\S+)", re.IGNORECASE | re.MULTILINE)
# The build's own platform variables follow --platform linux/arm64; anything else pins another machine.
ALLOWED = {PLATFORM, "$TARGETPLATFORM", "${TARGETPLATFORM}", "$BUILDPLATFORM", "${BUILDPLATFORM}"}


def check(asset: ImageAsset) -> Verdict:
    if asset.dockerfile is None:
        return NOT_APPLICABLE
    for match in _FROM_PLATFORM.finditer(asset.dockerfile):
        if match.group(1) not in ALLOWED:
            line = asset.dockerfile.count("\n", 0, match.start(1)) + 1
            return violation(f"{asset.dockerfile_name} line {line}: FROM --platform={match.group(1)}")
    return compliant("no foreign platform pinned")


RULE = Rule(
    id="GG-DOCKERFILE",
    title="Dockerfiles pin no x86 platform",
    explanation="`FROM --platform=linux/amd64 ...` builds an x86 stage even when the build asks for arm64; read at "
    "synth in every Docker image asset and every ArmImageBuild source.",
    fix="drop --platform from FROM, or use --platform=$TARGETPLATFORM",
    applies_to=(ASSET,),
    check=check,
    cfn_fix="drop --platform from FROM, or use --platform=$TARGETPLATFORM",
)
