"""ArmImageBuild on its own: content-addressed tags, identical templates for identical sources, early refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from support import ROOT

from graviton import ArmImageBuild, ArmImageFunction, ImageRepository
from graviton.image_build.source import image_tag

API = ROOT / "docker" / "api"
DOCKERFILE = "Dockerfile.lambda"


@pytest.fixture
def context(tmp_path) -> Path:
    """A private copy of the api service's build context, free to change."""
    return Path(shutil.copytree(API, tmp_path / "api", ignore=shutil.ignore_patterns("__pycache__")))


def synth(source_dir: Path, **props) -> dict:
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-dev-api")
    build = ArmImageBuild(stack, "Build", repository=repository, source_dir=source_dir, dockerfile=DOCKERFILE, **props)
    ArmImageFunction(stack, "Function", image=build)
    return Template.from_stack(stack).to_json()


def function_image(template: dict) -> str:
    (function,) = [r for r in template["Resources"].values() if r["Properties"].get("PackageType") == "Image"]
    return function["Properties"]["Code"]["ImageUri"]["Fn::Join"][1][-1]


def test_unchanged_sources_give_identical_templates(context):
    assert synth(context) == synth(context)


def test_a_changed_file_gives_a_new_tag_that_the_function_picks_up(context):
    before = synth(context)
    handler = context / "api_service" / "handler.py"
    handler.write_text(handler.read_text() + "\n# one more line\n")
    after = synth(context)
    assert function_image(after) != function_image(before)
    assert function_image(after) == f":{image_tag(context, dockerfile=DOCKERFILE)}"


def test_what_dockerignore_leaves_out_does_not_change_the_tag(context):
    before = image_tag(context, dockerfile=DOCKERFILE)
    (context / "tests" / "test_more.py").write_text("def test_nothing(): pass\n")
    assert image_tag(context, dockerfile=DOCKERFILE) == before


def test_build_args_and_the_dockerfile_are_part_of_the_tag(context):
    base = image_tag(context, dockerfile=DOCKERFILE)
    assert image_tag(context, dockerfile=DOCKERFILE, build_args={"PYTHON": "3.13"}) != base
    (context / "Dockerfile.other").write_text((context / DOCKERFILE).read_text())
    assert image_tag(context, dockerfile="Dockerfile.other") != base


def test_the_tag_is_the_same_from_another_folder_with_the_same_content(context, tmp_path):
    moved = Path(shutil.copytree(context, tmp_path / "elsewhere"))
    assert image_tag(moved, dockerfile=DOCKERFILE) == image_tag(context, dockerfile=DOCKERFILE)


def test_build_args_reach_the_build_one_per_line(context):
    template = Template.from_json(synth(context, build_args={"B": "2", "A": "one two"}))
    (project,) = template.find_resources("AWS::CodeBuild::Project").values()
    variables = {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert variables["BUILD_ARGS"] == "A=one two\nB=2"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"dockerfile": "Dockerfile.missing"}, "dockerfile 'Dockerfile.missing' does not exist"),
        ({"build_args": {"TARGETARCH": "amd64"}}, "build_args may not set 'TARGETARCH': the platform is linux/arm64"),
        ({"timeout": cdk.Duration.minutes(4)}, "timeout must be whole minutes from 5 to 50, not 4 minutes"),
        ({"timeout": cdk.Duration.minutes(51)}, "not 51 minutes"),
        ({"timeout": cdk.Duration.seconds(330)}, "not 5.5 minutes"),
    ],
)
def test_bad_props_are_refused_before_anything_is_built(props, message):
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-r")
    kwargs = {"dockerfile": DOCKERFILE, **props}
    with pytest.raises(ValueError, match=message):
        ArmImageBuild(stack, "Build", repository=repository, source_dir=API, **kwargs)


def test_a_dockerfile_that_dockerignore_leaves_out_is_refused(context):
    (context / ".dockerignore").write_text((context / ".dockerignore").read_text() + "\nDockerfile*\n")
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-r")
    with pytest.raises(ValueError, match=r"dockerignore leaves out 'Dockerfile\.lambda'; the build needs it"):
        ArmImageBuild(stack, "Build", repository=repository, source_dir=context, dockerfile=DOCKERFILE)


def test_a_repository_nobody_may_push_to_fails_synth():
    stack = cdk.Stack(cdk.App(), "S")
    ImageRepository(stack, "Repository", repository_name="gg-r")
    with pytest.raises(RuntimeError, match="ImageRepository S/Repository: no build may push to it"):
        Template.from_stack(stack)


def test_builds_share_one_provider_whatever_their_timeouts(context):
    # A changed timeout must never swap the provider: CloudFormation refuses a new service token.
    stack = cdk.Stack(cdk.App(), "S")
    for name, minutes in (("One", 10), ("Two", 45)):
        repository = ImageRepository(stack, f"{name}Repository", repository_name=name.lower())
        timeout = cdk.Duration.minutes(minutes)
        ArmImageBuild(
            stack, f"{name}Build", repository=repository, source_dir=context, dockerfile=DOCKERFILE, timeout=timeout
        )
    template = Template.from_stack(stack)
    images = template.find_resources("Custom::ArmImageBuild")
    assert sorted(i["Properties"]["TimeoutSeconds"] for i in images.values()) == [600, 2700]
    assert len({json.dumps(i["Properties"]["ServiceToken"]) for i in images.values()}) == 1
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
