"""The content tag covers what the image is built from: a base image's digest in a FROM line and the service's
requirements are files in the context, so changing either gives a new tag (and so a new build)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import ROOT, repo_context

from graviton.image_build.source import image_tag

SERVICES = repo_context()["services"]
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


@pytest.fixture(params=SERVICES, ids=[service["name"] for service in SERVICES])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A copy of one service's build context (as cdk.json names it) that the test may change."""
    folder = shutil.copytree(ROOT / "docker" / request.param["folder"], tmp_path / request.param["folder"])
    return folder, request.param["dockerfile"]


def pin_from_lines(dockerfile: Path, digest: str) -> None:
    """Every FROM's image, pinned (or re-pinned) to `digest`."""
    text = re.sub(r"^(FROM\s+[^\s@]+)(@sha256:[0-9a-f]{64})?", rf"\1@{digest}", dockerfile.read_text(), flags=re.M)
    dockerfile.write_text(text)


def test_a_new_base_image_digest_gives_a_new_tag(service: tuple[Path, str]) -> None:
    folder, dockerfile = service
    pin_from_lines(folder / dockerfile, DIGEST_A)
    pinned_a = image_tag(folder, dockerfile=dockerfile)
    pin_from_lines(folder / dockerfile, DIGEST_B)
    assert image_tag(folder, dockerfile=dockerfile) != pinned_a
    pin_from_lines(folder / dockerfile, DIGEST_A)
    assert image_tag(folder, dockerfile=dockerfile) == pinned_a  # the same inputs give the same tag


def test_a_changed_requirements_lock_gives_a_new_tag(service: tuple[Path, str]) -> None:
    folder, dockerfile = service
    before = image_tag(folder, dockerfile=dockerfile)
    requirements = folder / "requirements.txt"
    requirements.write_text(requirements.read_text() + "    --hash=sha256:" + "c" * 64 + "\n")
    assert image_tag(folder, dockerfile=dockerfile) != before
