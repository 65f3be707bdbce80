"""`make help` lists the docker-push targets and ENV values the current cdk.json allows, instantly."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT, repo_context, run

MAKE = ["make", "--no-print-directory"]
HELP = [sys.executable, "-m", "graviton_commands.make_help"]
COMMITTED = repo_context()


def targets(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def help_for(root, lines: str) -> subprocess.CompletedProcess:
    """The command on `lines` (make's static list) for the cdk.json in `root`."""
    return subprocess.run([*HELP, "--root", str(root)], input=lines, capture_output=True, text=True, cwd=ROOT)


def building(environments: dict) -> list[str]:
    return [name for name, settings in environments.items() if not settings.get("images_from")]


def test_make_help_offers_docker_push_only_where_cdk_json_builds_images():
    result = run([*MAKE, "help"])
    assert result.returncode == 0, result.stderr
    pushes = [target for target in targets(result.stdout) if target.startswith("docker-push-")]
    assert pushes == [f"docker-push-{name}" for name in building(COMMITTED["environments"])]
    service = COMMITTED["services"][0]["name"]
    for line in result.stdout.splitlines():
        if line.startswith("docker-push-"):
            assert f"SERVICE={service}" in line
        if line.split()[0] in ("deploy", "diff", "verify"):
            assert f"ENV={'|'.join(COMMITTED['environments'])}" in line, line


def test_an_environment_that_builds_its_own_images_gets_its_target(tmp_path):
    environments = {
        name: {key: value for key, value in settings.items() if key != "images_from"}
        for name, settings in COMMITTED["environments"].items()
    }
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {**COMMITTED, "environments": environments}}))
    result = help_for(tmp_path, "docker-push-dev\tstatic\ndeploy\tmake deploy ENV=dev\nclean\tremove cdk.out\n")
    assert result.returncode == 0, result.stderr
    assert targets(result.stdout) == [*(f"docker-push-{name}" for name in environments), "deploy", "clean"]


def test_without_a_readable_cdk_json_the_static_list_stands(tmp_path):
    lines = "docker-push-dev\tone\ndocker-push-test\ttwo\ndeploy\tmake deploy ENV=dev\n"
    result = help_for(tmp_path, lines)
    assert result.returncode == 0
    assert result.stdout == lines


def test_without_the_venv_make_help_prints_the_static_list():
    result = run([*MAKE, "help", "PY=/nonexistent/python"])
    assert result.returncode == 0 and result.stderr == ""
    assert {"docker-push-dev", "docker-push-test", "docker-push-prod"} <= set(targets(result.stdout))


def test_it_starts_without_pydantic_boto3_or_aws_cdk():
    probe = (
        "import io, json, sys\n"
        "sys.stdin = io.StringIO('deploy\\tmake deploy ENV=dev\\n')\n"
        "from graviton_commands import make_help\n"
        "make_help.main(['--root', '.'])\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = run([sys.executable, "-c", probe], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "graviton_app" in loaded
    assert not loaded & {"pydantic", "boto3", "botocore", "aws_cdk", "jsii"}
