"""Is this ECR image a single linux/arm64 image? Pure logic over a manifest and its config blob.

Shared by `graviton.verify` and the registry gatekeeper's Lambda (where it is a top-level module), so it imports
only the standard library. The config blob is fetched by the caller (`fetch_config(digest) -> dict`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

EXPECTED = "linux/arm64"
SINGLE_IMAGE_TYPES = frozenset(
    {"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"}
)
INDEX_TYPES = frozenset(
    {"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json"}
)
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
)
# What ECR's BatchGetImage must be told it may return, or it converts or refuses some manifests.
ACCEPTED_MEDIA_TYPES = sorted(SINGLE_IMAGE_TYPES | INDEX_TYPES)


@dataclass(frozen=True)
class Verdict:
    """`found` is what the image is (`linux/arm64`, `linux/amd64`, `index`, ...); `reason` says why it fails."""

    found: str
    ok: bool
    reason: str = ""


def inspect(manifest_text: str, media_type: str | None, fetch_config: Callable[[str], Mapping[str, Any]]) -> Verdict:
    """The verdict on one pushed manifest; `media_type` is ECR's `imageManifestMediaType` when it gave one."""
    try:
        manifest = json.loads(manifest_text)
    except json.JSONDecodeError:
        return Verdict("unreadable", False, "the manifest is not JSON")
    if not isinstance(manifest, dict):
        return Verdict("unreadable", False, "the manifest is not a JSON object")
    kind = media_type or manifest.get("mediaType") or ""
    if kind in INDEX_TYPES or "manifests" in manifest:
        return _index_verdict(manifest)
    if manifest.get("schemaVersion") == 1:
        return Verdict("schema1", False, "a Docker schema 1 manifest: no config to read the platform from")
    if kind not in SINGLE_IMAGE_TYPES and "config" not in manifest:
        return Verdict("unknown", False, f"unknown manifest type '{kind}'")
    config = manifest.get("config")
    if not isinstance(config, dict) or config.get("mediaType") not in IMAGE_CONFIG_TYPES:
        media = config.get("mediaType") if isinstance(config, dict) else None
        return Verdict("artifact", False, f"not a container image: its config is '{media}'")
    if not isinstance(config.get("digest"), str):
        return Verdict("unreadable", False, "the manifest's config names no digest")
    blob = fetch_config(config["digest"])
    if not isinstance(blob, Mapping):
        return Verdict("unreadable", False, "the image config is not a JSON object")
    platform = f"{blob.get('os', '?')}/{blob.get('architecture', '?')}"
    if blob.get("variant"):
        platform += f"/{blob['variant']}"
    if platform.split("/")[:2] == EXPECTED.split("/"):
        return Verdict(platform, True)
    return Verdict(platform, False, f"its config says {platform}, not {EXPECTED}")


def _index_verdict(index: Mapping[str, Any]) -> Verdict:
    """An index fails whatever it holds: Lambda refuses indexes, and our builds never push one."""
    entries = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    attestations = [m for m in entries if _is_attestation(m)]
    platforms = sorted(_platform(m) for m in entries if not _is_attestation(m))
    if entries and len(attestations) == len(entries):
        return Verdict("index", False, "an index of attestations only: no image in it")
    listed = ", ".join(platforms) or "nothing"
    extra = f" and {len(attestations)} attestation(s)" if attestations else ""
    return Verdict("index", False, f"an image index ({listed}{extra}), not a single image: Lambda refuses indexes")


def _platform(entry: Mapping[str, Any]) -> str:
    """`linux/arm64/v8`: the variant too, so an index of arm/v7 and arm64 does not read as two arm images."""
    platform = entry.get("platform") or {}
    parts = [platform.get("os", "?"), platform.get("architecture", "?")]
    return "/".join([*parts, platform["variant"]] if platform.get("variant") else parts)


def _is_attestation(entry: Mapping[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    platform = entry.get("platform") or {}
    return annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
        platform.get("os") == "unknown" and platform.get("architecture") == "unknown"
    )
