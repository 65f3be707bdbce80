"""`image_manifest.inspect` on manifests in the shape registries serve them (tests/fixtures/manifests/): only a single
image whose config says linux/arm64 passes; indexes, attestations, other platforms, schema 1 and artifacts fail."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import ROOT

from graviton.registry.runtime import image_manifest
from graviton.registry.runtime.image_manifest import ACCEPTED_MEDIA_TYPES, inspect

FIXTURES = ROOT / "tests" / "fixtures" / "manifests"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def digest_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


# Every fixture blob by its digest, as a registry serves it.
BLOBS = {digest_of(path): path for path in FIXTURES.glob("*.json")}


def configs(fetched: list[str] | None = None) -> Callable[[str], Any]:
    """fetch_config over the fixture blobs; records what was asked for."""

    def fetch(digest: str) -> Any:
        if fetched is not None:
            fetched.append(digest)
        return json.loads(BLOBS[digest].read_bytes())

    return fetch


def never(digest: str) -> Any:
    raise AssertionError(f"no config should be fetched, asked for {digest}")


@pytest.mark.parametrize(
    ("manifest", "media_type", "found"),
    [
        ("docker-v2-arm64.manifest.json", DOCKER_V2, "linux/arm64/v8"),
        ("oci-arm64.manifest.json", OCI_MANIFEST, "linux/arm64/v8"),
        ("docker-v2-arm64.manifest.json", None, "linux/arm64/v8"),  # ECR gave no media type: the manifest's own
    ],
    ids=["docker-v2", "oci", "media-type-from-the-manifest"],
)
def test_a_single_arm64_image_passes_after_reading_its_config(manifest, media_type, found):
    fetched: list[str] = []
    verdict = inspect(text(manifest), media_type, configs(fetched))
    assert (verdict.found, verdict.ok, verdict.reason) == (found, True, "")
    config_digest = json.loads(text(manifest))["config"]["digest"]
    assert fetched == [config_digest]  # the platform comes from the config blob, nothing else


def test_an_amd64_image_fails_naming_its_platform():
    verdict = inspect(text("docker-v2-amd64.manifest.json"), DOCKER_V2, configs())
    assert (verdict.found, verdict.ok) == ("linux/amd64", False)
    assert verdict.reason == "its config says linux/amd64, not linux/arm64"


def test_buildx_attestation_manifest_fails_as_unknown_platform():
    """`buildx --push` stores the attestation as its own (untagged) image: its config says unknown/unknown."""
    verdict = inspect(text("buildx-attestation.manifest.json"), OCI_MANIFEST, configs())
    assert (verdict.found, verdict.ok) == ("unknown/unknown", False)


@pytest.mark.parametrize(
    ("manifest", "media_type", "reason"),
    [
        (
            "buildx-index-arm64-attestation.json",
            OCI_INDEX,
            "an image index (linux/arm64 and 1 attestation(s)), not a single image: Lambda refuses indexes",
        ),
        ("attestation-only-index.json", OCI_INDEX, "an index of attestations only: no image in it"),
        (
            "docker-manifest-list-amd64-arm64.json",
            DOCKER_LIST,
            "an image index (linux/amd64, linux/arm64/v8), not a single image: Lambda refuses indexes",
        ),
        (
            "buildx-index-arm64-attestation.json",
            None,
            "an image index (linux/arm64 and 1 attestation(s)), not a single image: Lambda refuses indexes",
        ),
    ],
    ids=["buildx-index", "attestation-only", "docker-manifest-list", "index-without-media-type"],
)
def test_an_index_fails_whatever_it_holds_without_fetching_anything(manifest, media_type, reason):
    verdict = inspect(text(manifest), media_type, never)
    assert (verdict.found, verdict.ok, verdict.reason) == ("index", False, reason)


def test_schema1_fails_without_a_config_to_read():
    verdict = inspect(text("schema1.manifest.json"), SCHEMA1, never)
    assert (verdict.found, verdict.ok) == ("schema1", False)
    assert "schema 1" in verdict.reason


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, None], ids=["ecr-media-type", "none"])
def test_an_oci_artifact_is_not_a_container_image(media_type):
    """Helm writes no top-level mediaType; ECR reports the OCI manifest type for it."""
    verdict = inspect(text("oci-artifact-helm.manifest.json"), media_type, never)
    assert (verdict.found, verdict.ok) == ("artifact", False)
    assert verdict.reason == "not a container image: its config is 'application/vnd.cncf.helm.config.v1+json'"


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("not json", "the manifest is not JSON"),
        ("[1, 2]", "the manifest is not a JSON object"),
        (json.dumps({"schemaVersion": 2, "mediaType": DOCKER_V2}), "not a container image: its config is 'None'"),
        (
            json.dumps({"schemaVersion": 2, "mediaType": DOCKER_V2, "config": {"mediaType": DOCKER_CONFIG}}),
            "the manifest's config names no digest",
        ),
    ],
    ids=["not-json", "not-an-object", "no-config", "config-without-digest"],
)
def test_a_malformed_manifest_fails_with_a_reason_not_an_exception(manifest, reason):
    verdict = inspect(manifest, None, never)
    assert (verdict.ok, verdict.reason) == (False, reason)


def test_a_config_that_is_not_an_object_fails():
    verdict = inspect(text("docker-v2-arm64.manifest.json"), DOCKER_V2, lambda digest: ["arm64"])
    assert (verdict.found, verdict.ok, verdict.reason) == ("unreadable", False, "the image config is not a JSON object")


def test_ecr_is_asked_for_every_single_image_and_index_type_as_stored():
    assert set(ACCEPTED_MEDIA_TYPES) == {DOCKER_V2, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX}


def test_it_uses_the_standard_library_only():
    """It ships inside the gatekeeper's Lambda and runs in the pipeline's bare verify step."""
    source = Path(image_manifest.__file__).read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported - {"__future__"} <= sys.stdlib_module_names


# The fixtures themselves -------------------------------------------------------------------------------------------


def descriptors(document: Any) -> list[dict[str, Any]]:
    """Every {mediaType, digest, size} in a manifest or index."""
    if isinstance(document, dict):
        found = [document] if {"digest", "size"} <= set(document) else []
        return found + [d for value in document.values() for d in descriptors(value)]
    if isinstance(document, list):
        return [d for value in document for d in descriptors(value)]
    return []


def test_fixture_descriptors_carry_the_real_digest_and_size_of_the_fixture_they_point_at():
    linked = 0
    for path in FIXTURES.glob("*.json"):
        for descriptor in descriptors(json.loads(path.read_bytes())):
            target = BLOBS.get(descriptor["digest"])
            if target is not None:
                assert descriptor["size"] == target.stat().st_size, f"{path.name} -> {target.name}"
                linked += 1
    # manifests -> configs (5), the buildx index -> image and attestation, its annotation, the list -> 2 images
    assert linked >= 9


def test_fixtures_are_bytes_as_served_docker_indented_by_three_oci_compact():
    assert text("docker-v2-arm64.manifest.json").startswith('{\n   "schemaVersion": 2,\n   "mediaType": ')
    assert text("docker-manifest-list-amd64-arm64.json").startswith('{\n   "schemaVersion": 2,')
    assert "\n" not in text("oci-arm64.manifest.json")
    assert "\n" not in text("buildx-index-arm64-attestation.json")
    assert "mediaType" not in json.loads(text("oci-artifact-helm.manifest.json"))
