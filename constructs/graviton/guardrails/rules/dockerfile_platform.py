"""GG-DOCKERFILE: an image asset's Dockerfile pins no platform but arm64 (or the build's own)."""

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
    pinned = [value for value in _FROM_PLATFORM.findall(asset.dockerfile) if value not in ALLOWED]
    if pinned:
        return violation(f"FROM --platform={pinned[0]}")
    return compliant("no foreign platform pinned")


RULE = Rule(
    id="GG-DOCKERFILE",
    title="Dockerfiles pin no x86 platform",
    explanation="`FROM --platform=linux/amd64 ...` builds an x86 stage even when the asset asks for arm64.",
    fix="drop --platform from FROM, or use --platform=$TARGETPLATFORM",
    applies_to=(ASSET,),
    check=check,
)
