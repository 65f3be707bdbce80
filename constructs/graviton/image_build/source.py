"""A service's build context: which files it holds, its content-addressed tag, and its zip.

Standard library only (`fingerprint` reproduces CDK's own hash), so `docker-push` computes the same tag as the
synth without loading aws-cdk-lib.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from graviton.constants import PLATFORM
from graviton.image_build.fingerprint import DockerIgnore, fingerprint


def dockerignore_patterns(source_dir: Path) -> list[str]:
    """The folder's .dockerignore patterns, so the uploaded context matches what `docker build` sends."""
    ignore_file = source_dir / ".dockerignore"
    if not ignore_file.is_file():
        return []
    lines = (line.strip() for line in ignore_file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def image_tag(source_dir: Path, *, dockerfile: str, build_args: Mapping[str, str] | None = None) -> str:
    """sha256 of the context (CDK's fingerprint, .dockerignore applied), Dockerfile, build args, platform.

    Unchanged inputs give the same tag on any machine; any change gives a new one.
    """
    parts = {
        # holds the Dockerfile: ArmImageBuild refuses a Dockerfile .dockerignore leaves out
        "context": fingerprint(source_dir, exclude=dockerignore_patterns(source_dir)),
        "dockerfile": dockerfile,
        "build_args": dict(sorted((build_args or {}).items())),
        "platform": PLATFORM,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def is_ignored(source_dir: Path, name: str) -> bool:
    """Whether .dockerignore leaves `name` out of the context (and so out of the uploaded zip)."""
    root = source_dir.resolve()
    return DockerIgnore(root, dockerignore_patterns(root)).ignores(root / name)


def context_files(source_dir: Path) -> Iterator[Path]:
    """Files `docker build` would send, decided as CDK's .dockerignore matcher decides them (a link to a file in
    the folder counts as that file, as the zip stores its content)."""
    root = source_dir.resolve()
    ignore = DockerIgnore(root, dockerignore_patterns(root))
    for path in sorted(root.rglob("*")):
        if path.is_file() and not ignore.ignores(path):
            yield path


def zip_context(source_dir: Path, target: Path) -> Path:
    """Zip the build context the way the CDK file asset does, for `docker-push`'s upload."""
    root = source_dir.resolve()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in context_files(root):
            archive.write(path, path.relative_to(root).as_posix())
    return target
