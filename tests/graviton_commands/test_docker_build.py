"""local_build: the exact `docker buildx` call it makes (with a fake docker on PATH), its hint, and its refusals."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import ROOT, fake_on_path, repo_context, run

# sample: docker-build runs the api and web samples' folders and Dockerfiles through a fake docker.
pytestmark = pytest.mark.sample

FAKE_DOCKER = """#!/usr/bin/env bash
# Logs its arguments NUL-separated and exits with FAKE_DOCKER_STATUS, like a docker that built (or did not).
[ "$1 $2" = "buildx version" ] && exit 0  # a Docker with the buildx plugin
printf '%s\\0' "$@" > "$FAKE_DOCKER_LOG"
exit "${FAKE_DOCKER_STATUS:-0}"
"""


@pytest.fixture
def fake_docker(tmp_path: Path) -> dict[str, str]:
    """The environment that puts a logging `docker` first on PATH."""
    return fake_on_path(tmp_path, "docker", FAKE_DOCKER, log=tmp_path / "docker.log")


def local_build_run(*args: str, env: dict[str, str]):
    return run([sys.executable, "-m", "graviton_commands.docker_build", *args], env=env)


def docker_argv(env: dict[str, str]) -> list[str]:
    return Path(env["FAKE_DOCKER_LOG"]).read_text().split("\0")[:-1]


def refusal(result) -> str:
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("docker-build: ")
    return lines[0]


def test_builds_the_first_service_for_the_asked_platform_into_the_local_store(fake_docker):
    result = local_build_run("--arch", "amd64", env=fake_docker)

    assert result.returncode == 0, result.stderr
    argv = docker_argv(fake_docker)
    assert argv[:2] == ["buildx", "build"]
    assert argv[argv.index("--platform") + 1] == "linux/amd64"
    assert "--load" in argv
    assert "--push" not in argv and not any(arg.startswith("--output") for arg in argv)
    tag = argv[argv.index("-t") + 1]
    assert tag == "graviton-guarantee-api:local-amd64"
    assert "/" not in tag  # no registry host: `docker push` of it cannot reach ECR
    assert argv[argv.index("-f") + 1] == "docker/api/Dockerfile.lambda"
    assert argv[-1] == "docker/api"
    assert f"docker run -p 9000:8080 {tag}" in result.stdout


def test_defaults_to_arm64_and_takes_the_service_by_name(fake_docker):
    result = local_build_run("api", env=fake_docker)
    assert result.returncode == 0, result.stderr
    argv = docker_argv(fake_docker)
    assert argv[argv.index("--platform") + 1] == "linux/arm64"
    assert argv[argv.index("-t") + 1] == "graviton-guarantee-api:local-arm64"


def test_the_curl_hint_is_an_event_the_api_service_answers(fake_docker, monkeypatch):
    result = local_build_run(env=fake_docker)
    [curl] = [line for line in result.stdout.splitlines() if "curl -XPOST" in line]
    words = shlex.split(curl.split(": ", 1)[1])
    assert words[:3] == ["curl", "-XPOST", "http://localhost:9000/2015-03-31/functions/function/invocations"]
    event = json.loads(words[words.index("-d") + 1])
    monkeypatch.syspath_prepend(str(ROOT / "docker" / "api"))
    # What the function's environment sets; Powertools reads it when the handler module loads.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "graviton-guarantee")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    from api_service.handler import lambda_handler

    context = SimpleNamespace(
        function_name="api",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:api",
        aws_request_id="local",
    )
    response = lambda_handler(event, context)
    assert response["statusCode"] == 200
    assert "machine" in json.loads(response["body"])


def test_docker_exit_status_is_passed_through_without_the_hint(fake_docker):
    result = local_build_run(env={**fake_docker, "FAKE_DOCKER_STATUS": "17"})
    assert result.returncode == 17
    assert "docker run" not in result.stdout


# What the refusal of an unknown service lists: every service cdk.json configures.
CONFIGURED = ", ".join(service["name"] for service in repo_context()["services"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--arch", "x86"], "docker-build: --arch 'x86' is not allowed; allowed: amd64, arm64"),
        (["shop"], f"docker-build: service 'shop' is not configured in cdk.json; configured: {CONFIGURED}"),
        (
            ["--dockerfile", "Dockerfile.x86"],
            "docker-build: dockerfile 'Dockerfile.x86' does not exist in docker/api/; available: Dockerfile.lambda",
        ),
    ],
    ids=["arch", "service", "dockerfile"],
)
def test_bad_arguments_are_refused_before_docker_runs(fake_docker, args, expected):
    assert refusal(local_build_run(*args, env=fake_docker)) == expected
    assert not Path(fake_docker["FAKE_DOCKER_LOG"]).exists()


def test_no_docker_on_path_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    line = refusal(local_build_run("api", env={"PATH": str(tmp_path / "empty")}))
    assert line == "docker-build: 'docker' is not on PATH; install Docker with buildx to build locally"


def test_a_container_service_gets_a_plain_http_hint(fake_docker):
    result = local_build_run("web", env=fake_docker)
    assert result.returncode == 0, result.stderr
    argv = docker_argv(fake_docker)
    assert argv[argv.index("-f") + 1] == "docker/web/Dockerfile"
    assert "docker run -p 8080:8080 graviton-guarantee-web:local-arm64" in result.stdout
    assert "curl http://localhost:8080/arch" in result.stdout
