"""docker-build on a Docker without the buildx plugin: one line saying what to install, before any build starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support import fake_on_path, run

# A Docker CLI without buildx answers `docker buildx ...` as it does any unknown command (exit 1); a build's
# `--platform` would then end in "unknown flag: --platform" (exit 125). Logs every call, one per line.
DOCKER_WITHOUT_BUILDX = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_DOCKER_LOG"
if [ "$1" = buildx ]; then
  echo "docker: 'buildx' is not a docker command." >&2
  echo "See 'docker --help'" >&2
  exit 1
fi
echo "unknown flag: --platform" >&2
exit 125
"""


@pytest.fixture
def docker_without_buildx(tmp_path: Path) -> dict[str, str]:
    return fake_on_path(tmp_path, "docker", DOCKER_WITHOUT_BUILDX, log=tmp_path / "docker.log")


def test_a_docker_without_buildx_is_refused_with_what_to_install(docker_without_buildx):
    result = run([sys.executable, "-m", "graviton_commands.docker_build"], env=docker_without_buildx)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "docker-build: this Docker has no buildx plugin ('docker buildx version': docker: 'buildx' is not a docker"
        " command. See 'docker --help'); install the buildx plugin: the docker-buildx-plugin package (Debian/Ubuntu,"
        " from Docker's apt repository), or Docker Desktop, which includes it"
    ]
    # Only the check ran: no build, so none of Docker's own errors.
    assert Path(docker_without_buildx["FAKE_DOCKER_LOG"]).read_text().splitlines() == ["buildx version"]
    assert result.stdout == ""
