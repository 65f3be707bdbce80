"""Services scaffolded by `make new-service`'s own code in a copy of the repository, with the hash locks resolved
without PyPI: for the tests (`support.with_generated_services`) and `make bench` (`bench/scale_growth.py`).

The standard library and the app's commands only, never aws-cdk-lib: a benchmark imports it without starting Node.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The files of the repository root the app reads besides docker/ and cdk.json: PipelineStack's pinned CLI and packages.
ROOT_FILES = ("package.json", "requirements.txt")
# What `make new-service` reads and writes there besides docker/.
SCAFFOLD_FILES = ("cdk.json", "requirements-dev.txt")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)$")


class ScaffoldRefused(Exception):
    """`make new-service` refused a service: its own line (`new-service: NAME ... is not allowed ...`)."""


def generated_service(name: str, target: str) -> dict:
    """A service's cdk.json entry as `make new-service NAME=<name> TARGET=<target>` writes it."""
    return {"name": name, "folder": name, "dockerfile": "Dockerfile", "targets": [target]}


class FakeResolver:
    """uv's resolution for a service's lock without PyPI: each pin of requirements.txt as one pure-Python wheel."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, uv: str, sources: Any, python: str) -> dict[str, Any]:
        self.calls.append(sources)
        pins = [PIN.match(line.strip()) for line in sources.requirements.read_text().splitlines()]
        packages = []
        for name, version in (pin.groups() for pin in pins if pin):
            file_name = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            digest = hashlib.sha256(file_name.encode()).hexdigest()
            packages.append(
                {"name": name, "version": version, "wheels": [{"name": file_name, "hashes": {"sha256": digest}}]}
            )
        return {"packages": packages}


@contextlib.contextmanager
def fake_lock_resolution() -> Iterator[FakeResolver]:
    """refresh_pins (which `make new-service` locks through) resolving with FakeResolver instead of uv and PyPI."""
    from graviton_commands import refresh_pins

    resolver, real = FakeResolver(), refresh_pins.compile_pylock
    refresh_pins.compile_pylock = resolver  # type: ignore[assignment]
    try:
        yield resolver
    finally:
        refresh_pins.compile_pylock = real


def repository_copy(root: Path) -> Path:
    """`root` (an empty or missing folder) made into a copy of the repository that `make new-service` can add to:
    cdk.json and requirements-dev.txt copied, the root files the app reads and each service folder linked."""
    docker = root / "docker"
    docker.mkdir(parents=True)
    for name in ROOT_FILES:
        (root / name).symlink_to(ROOT / name)
    for name in SCAFFOLD_FILES:
        shutil.copy2(ROOT / name, root / name)
    for folder in (ROOT / "docker").iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            (docker / folder.name).symlink_to(folder, target_is_directory=True)
    return root


def scaffold(root: Path, services: Mapping[str, str]) -> FakeResolver:
    """Run `make new-service`'s command in `root` for each name -> target, as a user would one after the other;
    ScaffoldRefused with the command's own line when it refuses one."""
    from graviton_commands import new_service

    with fake_lock_resolution() as resolver:
        for name, target in services.items():
            refusal = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(refusal):
                code = new_service.main([name, "--target", target, "--root", str(root)])
            if code != 0:
                said = refusal.getvalue().strip() or f"new-service {name} --target {target}: exit {code}"
                raise ScaffoldRefused(said.splitlines()[-1])
    return resolver
