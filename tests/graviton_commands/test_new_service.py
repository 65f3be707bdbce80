"""`make new-service`: a service of each target scaffolded into a copy of the repository, synthesized there (one
app, dev with an EKS cluster) and its own tests run; and the refusals, each one line, exit 2, nothing written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scaffolding import PIN, FakeResolver, fake_lock_resolution
from support import GENERATED, ROOT, ServiceStackTemplates, run

from graviton.constants import CONTAINER_PORT, CONTAINER_USER, HEALTH_PATH
from graviton_app import naming
from graviton_app.config import load_config
from graviton_app.context import read_context
from graviton_commands import new_service, refresh_pins
from graviton_commands.cli import EXIT_REFUSED, Refusal

# One service per target, as `make new-service NAME=... TARGET=...` makes them.
NEW = {"orders-fn": "lambda", "orders-ecs": "ecs", "orders-eks": "eks"}


def copy_repository(destination: Path) -> Path:
    """What the command reads and writes: cdk.json, requirements-dev.txt and docker/ (the app is composed in-process
    from the installed constructs, with this copy as its root); and pyproject.toml, whose lint settings `make test`
    applies to the new folders."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("cdk.json", "requirements-dev.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "docker", destination / "docker", ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory) -> Iterator[tuple[Path, str, FakeResolver]]:
    """A copy of the repository with one new service per target; its cdk.json text before the command."""
    root = copy_repository(tmp_path_factory.mktemp("repository"))
    before = (root / "cdk.json").read_text()
    with fake_lock_resolution() as resolver:
        for name, target in NEW.items():
            assert new_service.main([name, "--target", target, "--root", str(root)]) == 0
    yield root, before, resolver


def test_each_target_gets_its_folder_and_a_cdk_json_entry_in_cdk_jsons_own_format(scaffolded):
    root, before, _ = scaffolded
    document = json.loads(before)
    added = [{"name": n, "folder": n, "dockerfile": "Dockerfile", "targets": [t]} for n, t in NEW.items()]
    document["context"]["services"] += added
    text = (root / "cdk.json").read_text()
    assert json.loads(text) == document
    # Two-space JSON, the keys in their order, the file's own ending: only the new entries differ.
    assert before == json.dumps(json.loads(before), indent=2) + ("\n" if before.endswith("\n") else "")
    assert text == json.dumps(document, indent=2) + ("\n" if before.endswith("\n") else "")
    config = load_config(read_context(root).values, root=root)
    assert [s.name for s in config.services][-len(NEW) :] == list(NEW)
    for name in NEW:
        folder = root / "docker" / name
        assert {"Dockerfile", ".dockerignore", "requirements.txt", "requirements.lock", "tests"} <= {
            p.name for p in folder.iterdir()
        }
        assert f"-r docker/{name}/requirements.txt" in (root / "requirements-dev.txt").read_text().splitlines()
    assert not [p for p in (root / "docker").iterdir() if p.name.startswith(".")], "no staging folder left"


def test_the_dockerfiles_start_from_the_samples_multi_arch_bases_and_pin_no_platform(scaffolded):
    root, _, _ = scaffolded
    bases = {
        "lambda": "FROM public.ecr.aws/lambda/python:3.13",
        "ecs": "FROM public.ecr.aws/docker/library/python:3.13-slim",
    }
    for name, target in NEW.items():
        dockerfile = (root / "docker" / name / "Dockerfile").read_text()
        assert bases.get(target, bases["ecs"]) in dockerfile.splitlines()
        assert "--platform" not in dockerfile and not re.search(r"amd64|x86", dockerfile)
        if target != "lambda":
            assert f"USER {CONTAINER_USER}" in dockerfile and f"EXPOSE {CONTAINER_PORT}" in dockerfile
            assert f"http://127.0.0.1:{CONTAINER_PORT}{HEALTH_PATH}" in dockerfile
            assert 'VOLUME ["/tmp"]' in dockerfile


def test_the_locks_are_written_by_refresh_pins_code_path_fresh_and_hashed(scaffolded):
    root, _, resolver = scaffolded
    assert {s.display: s.no_deps for s in resolver.calls} == {f"docker/{n}": t == "lambda" for n, t in NEW.items()}
    config = load_config(read_context(root).values, root=root)
    assert refresh_pins.stale_locks(refresh_pins.service_sources(root, config)) == []
    for name in NEW:
        lock = (root / "docker" / name / "requirements.lock").read_text()
        listed = [
            line for line in (root / "docker" / name / "requirements.txt").read_text().splitlines() if PIN.match(line)
        ]
        assert listed and all(f"{pin} \\\n    --hash=sha256:" in lock for pin in listed)


def repository_id(stacks: ServiceStackTemplates, project: str, service: str) -> str:
    """The logical id of the service's dev repository, in its nested stack."""
    repositories = stacks.template.find_resources(
        "AWS::ECR::Repository", {"Properties": {"RepositoryName": naming.repository_name(project, "dev", service)}}
    )
    (logical_id,) = repositories
    return logical_id


def repository_ref(stacks: ServiceStackTemplates, project: str, service: str) -> str:
    """How the service's nested stack names its repository."""
    return json.dumps({"Ref": repository_id(stacks, project, service)})


def parent_repository_refs(stacks: ServiceStackTemplates, project: str, service: str) -> list[str]:
    """How the environment's stack names the service's repository: the nested stack's outputs of it."""
    repository = {"Ref": repository_id(stacks, project, service)}
    outputs = stacks.document.get("Outputs", {})
    names = [name for name, output in outputs.items() if output["Value"] == repository]
    return [json.dumps({"Fn::GetAtt": [stacks.resource[0], f"Outputs.{name}"]}) for name in names]


# The shared `synthesized` app has GENERATED (one service per target) added by this command's own code: the tests
# below read the new services there, so the scaffold's output is synthesized once with the rest of the suite.


def test_the_app_synthesizes_with_the_new_services_guard_and_nag_clean(synthesized):
    assert synthesized.error is None  # cdk-nag's findings (or the guard's) would have failed the synth
    assert set(GENERATED) <= {service.name for service in synthesized.config.services}
    report = json.loads((synthesized.outdir / "arm64-report.json").read_text())
    assert report["checked"] and all(d["compliant"] for d in report["checked"])


def test_the_lambda_service_is_an_arm64_function_of_its_own_image(synthesized):
    (lambda_name,) = [n for n, t in GENERATED.items() if t == "lambda"]
    stacks = synthesized.service("dev", lambda_name)
    functions = stacks.template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": lambda_name}}}},
    )
    (function,) = functions.values()
    assert function["Properties"]["Architectures"] == ["arm64"] and function["Properties"]["PackageType"] == "Image"
    assert repository_ref(stacks, synthesized.config.project, lambda_name) in json.dumps(function["Properties"]["Code"])


def test_the_ecs_service_is_a_fargate_arm64_service_of_its_own_image(synthesized):
    (ecs_name,) = [n for n, t in GENERATED.items() if t == "ecs"]
    stacks = synthesized.service("dev", ecs_name)
    template, repository = stacks.template, repository_ref(stacks, synthesized.config.project, ecs_name)
    definitions = template.find_resources("AWS::ECS::TaskDefinition")
    (definition_id,) = [i for i, d in definitions.items() if repository in json.dumps(d)]
    definition = definitions[definition_id]
    assert definition["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    (container,) = definition["Properties"]["ContainerDefinitions"]
    assert container["User"] == CONTAINER_USER and container["ReadonlyRootFilesystem"] is True
    assert [m["ContainerPort"] for m in container["PortMappings"]] == [CONTAINER_PORT]
    (service,) = template.find_resources(
        "AWS::ECS::Service", {"Properties": {"TaskDefinition": {"Ref": definition_id}}}
    ).values()
    assert service["Properties"]["LaunchType"] == "FARGATE"


def test_the_eks_service_is_in_the_manifests_the_cluster_applies(synthesized):
    """The cluster's manifests are applied from the environment's stack; an image's repository reaches them as an
    output of its service's nested stack."""
    template = synthesized.template("dev")
    projects = template.find_resources("AWS::CodeBuild::Project")
    (apply,) = [p for p in projects.values() if "MANIFESTS" in json.dumps(p)]
    (manifests,) = [v for v in apply["Properties"]["Environment"]["EnvironmentVariables"] if v["Name"] == "MANIFESTS"]
    text = json.dumps(manifests["Value"])
    for name, target in GENERATED.items():
        stacks = synthesized.service("dev", name)
        if target == "eks":
            refs = parent_repository_refs(stacks, synthesized.config.project, name)
            assert any(ref in text for ref in refs), name
        else:
            assert stacks.resource[0] not in text, name
    (eks_name,) = [n for n, t in GENERATED.items() if t == "eks"]
    assert eks_name in text


def test_the_new_services_pass_the_repositorys_lint_and_format(scaffolded):
    """`make test` starts with ruff over the whole repository: a new service's files must pass it as written, whatever
    the service is called (its package sorts among the imports by name)."""
    root, _, _ = scaffolded
    folders = [f"docker/{name}" for name in NEW]
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, *folders], cwd=root, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_new_services_own_tests_pass(scaffolded):
    root, _, _ = scaffolded
    folders = [str(root / "docker" / name / "tests") for name in NEW]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *folders],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (summary,) = [line for line in result.stdout.splitlines() if " passed" in line]
    assert int(summary.split(" passed")[0].split()[-1]) >= 3 * len(NEW)


# --- refusals: one line naming the argument, exit 2, nothing written ------------------------------------------------


@pytest.fixture
def repository(tmp_path) -> Path:
    return copy_repository(tmp_path / "repository")


def rename_service(root: Path, old: str, new: str) -> None:
    """cdk.json with the service `old` named `new` (its folder unchanged)."""
    document = json.loads((root / "cdk.json").read_text())
    for service in document["context"]["services"]:
        if service["name"] == old:
            service["name"] = new
    (root / "cdk.json").write_text(json.dumps(document, indent=2))


def failing_resolver(uv: str, sources: Any, python: str) -> dict:
    raise Refusal(f"{sources.display}/requirements.txt: uv pip compile failed: no route to pypi.org")


@pytest.mark.parametrize(
    ("argv", "prepare", "expected"),
    [
        (
            ["Orders", "--target", "lambda"],
            None,
            "new-service: NAME 'Orders' is not allowed: must be lower-case letters",
        ),
        (["9lives", "--target", "ecs"], None, "new-service: NAME '9lives' is not allowed: must be lower-case letters"),
        (["api", "--target", "lambda"], None, "new-service: NAME 'api' is not allowed: docker/api/ already exists"),
        (
            ["shop", "--target", "ecs"],
            lambda r: rename_service(r, "web", "shop"),
            "new-service: NAME 'shop' is not allowed: cdk.json already has a service named 'shop'",
        ),
        (["refused", "--target", "x86"], None, "new-service: TARGET 'x86' is not allowed; allowed: lambda, ecs, eks"),
        (["refused", "--target", "ecs,ecs"], None, "new-service: TARGET 'ecs,ecs' repeats a target"),
        (
            ["refused", "--target", "lambda,ecs"],
            None,
            "new-service: TARGET 'lambda,ecs' is not allowed: a Lambda image cannot also be an ECS/EKS server",
        ),
        (
            ["refused", "--target", "ecs"],
            "resolver",
            "new-service: docker/refused/requirements.txt: uv pip compile failed",
        ),
        (
            ["refused", "--target", "ecs"],
            lambda r: (r / "cdk.json").write_text(
                (r / "cdk.json").read_text().replace('"ecs_max_tasks": 2', '"ecs_max_tasks": 0', 1)
            ),
            "new-service: cdk.json: 'environments.dev.ecs_max_tasks' = 0 is not allowed",
        ),
    ],
    ids=[
        "upper-case",
        "digit-first",
        "existing-folder",
        "existing-name",
        "unknown-target",
        "repeated-target",
        "lambda-and-server",
        "lock-fails",
        "bad-cdk-json",
    ],
)
def test_a_refusal_is_one_line_exit_2_and_writes_nothing(repository, monkeypatch, capsys, argv, prepare, expected):
    monkeypatch.setattr(refresh_pins, "compile_pylock", failing_resolver if prepare == "resolver" else FakeResolver())
    if callable(prepare):
        prepare(repository)
    before = snapshot(repository)
    assert new_service.main([*argv, "--root", str(repository)]) == EXIT_REFUSED
    captured = capsys.readouterr()
    assert captured.err.startswith(expected) and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""
    assert snapshot(repository) == before
    assert sorted(p.name for p in (repository / "docker").iterdir()) == sorted(before_dirs(before))


def before_dirs(files: dict[str, bytes]) -> set[str]:
    return {Path(name).parts[1] for name in files if name.startswith("docker/")}


def test_the_command_line_refuses_without_a_traceback(repository):
    result = run(
        [sys.executable, "-m", "graviton_commands.new_service", "Orders", "--target", "ecs", "--root", str(repository)]
    )
    assert result.returncode == EXIT_REFUSED
    assert result.stderr.splitlines() == [
        "new-service: NAME 'Orders' is not allowed: must be lower-case letters and digits, single '-' between them,"
        " starting with a letter, 30 at most"
    ]
