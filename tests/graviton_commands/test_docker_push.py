"""docker-push: its refusals through scripts/docker-push.sh, the build it starts against a moto server, its polling.

moto's CodeBuild runs nothing: it reports SUCCEEDED on the first BatchGetBuilds and keeps no overrides. The
`fake_builds` fixture hooks the in-process server so each test sees the StartBuild request as sent and decides what
the "build" did by then: push an image to ECR, as the real buildspec does, or fail in a phase.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import boto3
import pytest
import requests
from botocore.stub import Stubber
from cloudformation_support import FakeCloudFormation, FakeStack, arn, nested
from moto_support import moto_server
from support import ROOT, repo_context, run

from graviton.image_build.runtime.image_build_contract import BuildFailedError, ImageBuildProperties, failure_message
from graviton.image_build.source import image_tag
from graviton_commands import docker_push
from graviton_commands.cli import Refusal
from graviton_commands.settings import read_settings

# sample: docker-push runs against the api sample's folder, Dockerfile.lambda and stack outputs.
pytestmark = pytest.mark.sample

if TYPE_CHECKING:
    from moto.codebuild.models import CodeBuildBackend
    from moto.codebuild.responses import CodeBuildResponse

SCRIPT = ROOT / "scripts" / "docker-push.sh"
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # the account moto answers for
BUCKET = "gg-dev-build-sources"
PROJECT = "gg-dev-api-build"
REPOSITORY = "graviton-guarantee-dev-api"
REPOSITORY_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"


@pytest.fixture(scope="module")
def tag() -> str:
    """The tag docker-push must compute for the api service's current sources."""
    return image_tag(ROOT / "docker" / "api", dockerfile="Dockerfile.lambda")


def the_line(result) -> str:
    """A refusal: exit 2, exactly one line on stderr, no traceback."""
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("docker-push: ")
    return lines[0]


# Refusals before any AWS call -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["dev"], ["dev", "api", "Dockerfile.lambda", "extra"]], ids=["0", "1", "4"])
def test_wrong_argument_count_prints_the_usage(no_aws, args):
    line = the_line(run([str(SCRIPT), *args]))
    assert f"got {len(args)} argument(s)" in line
    assert "usage: scripts/docker-push.sh ENV SERVICE [DOCKERFILE]" in line


# What the refusal of an unknown service lists: every service cdk.json configures.
CONFIGURED = ", ".join(service["name"] for service in repo_context()["services"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["qa", "api"], "docker-push: environment 'qa' is not configured; configured: dev, test, prod"),
        (["dev", "shop"], f"docker-push: service 'shop' is not configured in cdk.json; configured: {CONFIGURED}"),
        (
            ["dev", "api", "Dockerfile.x86"],
            "docker-push: dockerfile 'Dockerfile.x86' does not exist in docker/api/; available: Dockerfile.lambda",
        ),
        (
            ["dev", "api", "../../cdk.json"],
            "docker-push: dockerfile '../../cdk.json' does not exist in docker/api/; available: Dockerfile.lambda",
        ),
    ],
    ids=["environment", "service", "dockerfile", "dockerfile-outside-the-folder"],
)
def test_unknown_names_are_refused_with_what_is_allowed(no_aws, args, expected):
    assert the_line(run([str(SCRIPT), *args])) == expected


def test_no_credentials_is_refused(no_aws, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    line = the_line(run([str(SCRIPT), "dev", "api"]))
    assert line.startswith("docker-push: no AWS credentials found;")


def test_no_region_is_refused(no_aws):
    line = the_line(run([str(SCRIPT), "dev", "api"]))
    assert line.startswith("docker-push: no AWS region: environment 'dev' sets no 'region' in cdk.json")


def test_a_missing_venv_is_refused(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy2(SCRIPT, tmp_path / "scripts" / SCRIPT.name)
    line = the_line(run([str(tmp_path / "scripts" / SCRIPT.name), "dev", "api"], cwd=tmp_path))
    assert line == f"docker-push: {tmp_path}/.venv/bin/python is missing; run make setup first"


def test_the_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)


def test_the_stack_declares_every_output_docker_push_reads(synthesized):
    """In the stack or one of its nested stacks (docker-push reads them merged), each key in one stack only."""
    config = read_settings(ROOT).config
    building = [name for name, settings in config.environments.items() if not settings.images_from]
    assert building == ["dev"]
    stack = synthesized.stacks["dev"]
    stacks = [stack, *(child for child in stack.node.find_all() if isinstance(child, cdk.NestedStack))]
    keys = [key for each in stacks for key in synthesized.stack_template(each).get("Outputs", {})]
    assert sorted(key for key in set(keys) if keys.count(key) > 1) == []
    for service in config.services:
        assert set(docker_push.required_outputs(service).values()) <= set(keys)


def test_an_environment_that_runs_promoted_images_is_refused_with_where_to_build():
    result = run([str(SCRIPT), "prod", "api"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "docker-push: environment 'prod' runs the images dev builds (images_from); build there:"
        " make docker-push-dev SERVICE=api"
    ]


# Against a moto server --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:  # moto loads where a server runs, not while collecting
        yield url


@dataclass
class Aws:
    url: str

    def client(self, name: str) -> Any:
        return boto3.client(name, region_name=REGION, endpoint_url=self.url)

    def deploy(self, outputs: dict[str, str] | None = None, *, resources: dict[str, Any] | None = None) -> None:
        """DevStack as `make deploy` leaves it, as far as docker-push looks: the outputs, bucket, repository, project
        (`resources` in place of the repository)."""
        repository = {"Repository": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": REPOSITORY}}}
        template = {
            "Resources": {
                "Sources": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
                **(repository if resources is None else resources),
            },
            "Outputs": {key: {"Value": value} for key, value in (outputs or DEPLOYED_OUTPUTS).items()},
        }
        self.client("cloudformation").create_stack(StackName="DevStack", TemplateBody=json.dumps(template))
        self.client("codebuild").create_project(
            name=PROJECT,
            source={"type": "S3", "location": f"{BUCKET}/cdk-asset.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "ARM_CONTAINER",
                "image": "aws/codebuild/amazonlinux-aarch64-standard:3.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/build",
        )

    def deploy_nested(self) -> str:
        """DevStack with the api's repository and outputs in its own nested stack (moto creates it from the template
        in its S3, named `DevStack-<logical id>-<random>`); the parent keeps the bucket and its output. Returns the
        nested stack's name."""
        s3, templates = self.client("s3"), "cdk-hnb659fds-assets"
        s3.create_bucket(Bucket=templates, CreateBucketConfiguration={"LocationConstraint": REGION})
        service_outputs = {key: value for key, value in DEPLOYED_OUTPUTS.items() if key.startswith("Api")}
        nested = {
            "Resources": {"Repository": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": REPOSITORY}}},
            "Outputs": {key: {"Value": value} for key, value in service_outputs.items()},
        }
        s3.put_object(Bucket=templates, Key="api.json", Body=json.dumps(nested))
        url = f"https://s3.{REGION}.amazonaws.com/{templates}/api.json"
        self.deploy(
            {"BuildSourcesBucket": BUCKET},
            resources={
                "ApiNestedStackResource": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}
            },
        )
        [summary] = [
            summary
            for summary in self.client("cloudformation").list_stack_resources(StackName="DevStack")[
                "StackResourceSummaries"
            ]
            if summary["LogicalResourceId"] == "ApiNestedStackResource"
        ]
        return summary["PhysicalResourceId"]

    def put_image(self, tag: str) -> str:
        """An image as `docker push` leaves it; its layer is unique so every test's digest differs."""
        layer = f"sha256:{uuid.uuid4().hex * 2}"
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1469,
                "digest": f"sha256:{'c' * 64}",
            },
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3, "digest": layer}],
        }
        image = self.client("ecr").put_image(
            repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag
        )
        return image["image"]["imageId"]["imageDigest"]


DEPLOYED_OUTPUTS = {
    "BuildSourcesBucket": BUCKET,
    "ApiBuildProject": PROJECT,
    "ApiRepositoryUri": REPOSITORY_URI,
    "ApiImageUri": f"{REPOSITORY_URI}@sha256:{'0' * 64}",
}


@pytest.fixture
def aws(moto_url: str, no_aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """A fresh moto account: docker-push (a subprocess) and the test talk to the same server."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return Aws(moto_url)


@dataclass
class FakeBuilds:
    """What StartBuild received, and what each build has done by the time BatchGetBuilds asks."""

    started: list[dict[str, Any]] = field(default_factory=list)
    finish: Callable[[dict[str, Any]], None] = lambda build: None

    def variables(self) -> dict[str, str]:
        [request] = self.started
        return {v["name"]: v["value"] for v in request.get("environmentVariablesOverride", [])}


@pytest.fixture
def fake_builds(monkeypatch: pytest.MonkeyPatch) -> FakeBuilds:
    from moto.codebuild.models import CodeBuildBackend
    from moto.codebuild.responses import CodeBuildResponse

    fake = FakeBuilds()
    start_build, batch_get_builds = CodeBuildResponse.start_build, CodeBuildBackend.batch_get_builds

    def recording_start_build(self: CodeBuildResponse) -> Any:
        fake.started.append(json.loads(self.body))
        return start_build(self)

    def finishing_batch_get_builds(self: CodeBuildBackend, ids: list[str]) -> list[dict[str, Any]]:
        builds = batch_get_builds(self, ids)
        for build in builds:
            fake.finish(build)
        return builds

    monkeypatch.setattr(CodeBuildResponse, "start_build", recording_start_build)
    monkeypatch.setattr(CodeBuildBackend, "batch_get_builds", finishing_batch_get_builds)
    return fake


def push_fast(*args: str) -> Any:
    """The module itself (the script takes no options), polling every 0.2 s."""
    return run([sys.executable, "-m", "graviton_commands.docker_push", *args, "--poll-seconds", "0.2"])


def test_a_stack_that_is_not_deployed_is_refused(aws):
    line = the_line(run([str(SCRIPT), "dev", "api"]))
    assert line == "docker-push: stack DevStack is not deployed; run make deploy ENV=dev first"


def test_a_stack_without_the_service_outputs_is_refused(aws, fake_builds):
    aws.deploy({"BuildSourcesBucket": BUCKET})
    line = the_line(push_fast("dev", "api"))
    assert line.startswith("docker-push: stack DevStack (CREATE_COMPLETE) has no output 'ApiBuildProject'")
    assert line.endswith("run make deploy ENV=dev first")
    assert fake_builds.started == []


def test_a_tag_already_in_the_repository_is_not_built_again(aws, fake_builds, tag):
    aws.deploy()
    digest = aws.put_image(tag)
    result = push_fast("dev", "api")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"image: {REPOSITORY_URI}:{tag}", f"digest: {digest}"]
    assert aws.client("codebuild").list_builds()["ids"] == []
    assert fake_builds.started == []
    assert aws.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_tag_already_in_the_repository_loses_a_candidate_tag_a_stopped_build_left_on_it(aws, fake_builds, tag):
    # The candidate lifecycle rule would expire the image, content tag and all.
    aws.deploy()
    digest = aws.put_image(tag)
    ecr = aws.client("ecr")
    [image] = ecr.batch_get_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": tag}])["images"]
    stray = "candidate-5d2c6f5e-0000-4000-8000-000000000001"
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=image["imageManifest"], imageTag=stray)
    result = push_fast("dev", "api")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"digest: {digest}"
    [details] = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageDigest": digest}])["imageDetails"]
    assert details["imageTags"] == [tag]
    assert fake_builds.started == []


def test_new_sources_are_uploaded_built_on_the_project_and_the_pushed_digest_reported(aws, fake_builds, tag):
    aws.deploy()
    pushed: list[str] = []

    def push_then_succeed(build: dict[str, Any]) -> None:
        if not pushed:  # the buildspec pushes once, under the tag it was given
            pushed.append(aws.put_image(fake_builds.variables()["IMAGE_TAG"]))

    fake_builds.finish = push_then_succeed
    result = push_fast("dev", "api")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [f"image: {REPOSITORY_URI}:{tag}", f"digest: {pushed[0]}"]
    key = f"ApiBuild/{tag}.zip"
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert {"Dockerfile.lambda", "requirements.txt", "api_service/handler.py"} <= set(names)
    assert not [name for name in names if name.startswith("tests/") or "__pycache__" in name], names
    [request] = fake_builds.started
    assert request["projectName"] == PROJECT
    assert (request["sourceTypeOverride"], request["sourceLocationOverride"]) == ("S3", f"{BUCKET}/{key}")
    # The tag, Dockerfile and build args the tag was computed from; never a PLATFORM override.
    assert fake_builds.variables() == {"IMAGE_TAG": tag, "DOCKERFILE": "Dockerfile.lambda", "BUILD_ARGS": ""}
    assert request["idempotencyToken"]
    assert [build_id.split(":")[0] for build_id in aws.client("codebuild").list_builds()["ids"]] == [PROJECT]
    assert "COMPLETED" in result.stderr  # the phase change was reported


def test_a_failed_build_is_one_line_and_exit_1(aws, fake_builds):
    aws.deploy()

    def fail_in_build_phase(build: dict[str, Any]) -> None:
        build["buildStatus"] = "FAILED"
        for phase in build["phases"]:
            if phase["phaseType"] == "BUILD":
                phase["phaseStatus"] = "FAILED"
                phase["contexts"] = [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "docker buildx exit 1"}]

    fake_builds.finish = fail_in_build_phase
    result = push_fast("dev", "api")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1
    assert failed[0].startswith(f"docker-push: image build {PROJECT}:")
    assert "FAILED in phase BUILD: docker buildx exit 1; logs: https://" in failed[0]


def test_the_services_project_and_repository_are_found_in_its_nested_stack(aws, fake_builds, tag):
    aws.deploy_nested()
    pushed: list[str] = []

    def push_then_succeed(build: dict[str, Any]) -> None:
        if not pushed:
            pushed.append(aws.put_image(fake_builds.variables()["IMAGE_TAG"]))

    fake_builds.finish = push_then_succeed
    result = push_fast("dev", "api")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"image: {REPOSITORY_URI}:{tag}", f"digest: {pushed[0]}"]
    [request] = fake_builds.started
    assert request["projectName"] == PROJECT
    assert request["sourceLocationOverride"] == f"{BUCKET}/ApiBuild/{tag}.zip"  # the parent's bucket


def test_a_services_nested_stack_that_cannot_be_read_is_named_in_the_refusal(aws, fake_builds):
    nested = aws.deploy_nested()
    aws.client("cloudformation").delete_stack(StackName=nested)  # by hand, behind its parent's back
    line = the_line(push_fast("dev", "api"))
    assert line == (
        "docker-push: stack DevStack (CREATE_COMPLETE) has no output 'ApiBuildProject' for service 'api'; nested stack"
        f" {nested} (ApiNestedStackResource in DevStack) could not be read: AWS refused DescribeStacks:"
        f" ValidationError: Stack with id {nested} does not exist"
    )
    assert fake_builds.started == []


def test_of_the_nested_stacks_that_cannot_be_read_the_refusal_names_the_services_own():
    web, api = "DevStack-WebNestedStack-1A2B", "DevStack-ApiNestedStack-3C4D"
    stacks = {
        "DevStack": FakeStack(
            outputs={"BuildSourcesBucket": BUCKET},
            resources=[nested("WebNestedStackResource", web), nested("ApiNestedStackResource", api)],
        )
    }
    service = read_settings(ROOT).config.service("api")
    with pytest.raises(Refusal) as refused:
        docker_push.stack_outputs(FakeCloudFormation(stacks).client, "dev", service)
    assert str(refused.value) == (
        "stack DevStack (CREATE_COMPLETE) has no output 'ApiBuildProject' for service 'api'; nested stack"
        f" {api} (ApiNestedStackResource in DevStack) could not be read: AWS refused DescribeStacks: ValidationError:"
        f" Stack with id {arn(api)} does not exist (and 1 more nested stack(s))"
    )


def test_an_output_key_in_the_stack_and_a_nested_stack_is_refused_in_one_line(capsys, monkeypatch):
    nested_name = "DevStack-ApiNestedStack-3C4D"
    stacks = {
        "DevStack": FakeStack(
            outputs={**DEPLOYED_OUTPUTS, "ApiBuildProject": "another-project"},
            resources=[nested("ApiNestedStackResource", nested_name)],
        ),
        nested_name: FakeStack(outputs={"ApiBuildProject": PROJECT}),
    }
    fake = FakeCloudFormation(stacks)
    monkeypatch.setattr(
        docker_push.aws, "connect", lambda *args, **kwargs: SimpleNamespace(client=lambda name: fake.client)
    )

    assert docker_push.main(["dev", "api"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"docker-push: output 'ApiBuildProject' is in both stack DevStack and stack {nested_name}; an output key must"
        " be in one stack of the environment: rename one of them in the app and deploy again"
    ]


def test_credentials_for_another_account_are_refused(aws, tmp_path, capsys):
    (tmp_path / "docker" / "api").mkdir(parents=True)
    (tmp_path / "docker" / "api" / "Dockerfile").write_text("FROM scratch\n")
    context = {
        "project": "gg",
        "environments": {"prod": {"account": "111111111111", "region": REGION}},
        "services": [{"name": "api", "folder": "api", "targets": ["lambda"]}],
    }
    (tmp_path / "cdk.json").write_text(json.dumps({"context": context}))

    assert docker_push.main(["prod", "api", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"docker-push: environment 'prod' is account 111111111111 (cdk.json) but the credentials are for account"
        f" {ACCOUNT}; use credentials for 111111111111"
    ]


# The polling, with botocore's Stubber -------------------------------------------------------------------------------

PROPS = ImageBuildProperties(
    project_name=PROJECT,
    repository_name=REPOSITORY,
    repository_uri=REPOSITORY_URI,
    image_tag="a" * 64,
    source_location=f"{BUCKET}/ApiBuild/{'a' * 64}.zip",
    timeout_seconds=300,
)
BUILD_ID = f"{PROJECT}:0b7b6e1c-1111-2222-3333-444455556666"
LOGS = {"deepLink": "https://console.aws.amazon.com/cloudwatch/home#logEvent:group=build"}


def build(status: str, phase: str, **extra: Any) -> dict[str, Any]:
    return {"id": BUILD_ID, "buildStatus": status, "currentPhase": phase, "logs": LOGS, **extra}


@dataclass
class Polling:
    codebuild: Stubber
    ecr: Stubber
    progress: list[str]
    now: list[float]

    def follow(self) -> str:
        return docker_push.follow_build(
            self.codebuild.client,
            self.ecr.client,
            PROPS,
            BUILD_ID,
            poll_seconds=10,
            sleep=lambda seconds: self.now.__setitem__(0, self.now[0] + seconds),
            clock=lambda: self.now[0],
            progress=self.progress.append,
        )


@pytest.fixture
def polling() -> Iterator[Polling]:
    keys = {"region_name": REGION, "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    codebuild, ecr = Stubber(boto3.client("codebuild", **keys)), Stubber(boto3.client("ecr", **keys))
    with codebuild, ecr:
        yield Polling(codebuild, ecr, [], [0.0])
        codebuild.assert_no_pending_responses()
        ecr.assert_no_pending_responses()


def test_polling_reports_phase_changes_and_raises_the_failure_message(polling):
    failed = build(
        "FAILED",
        "COMPLETED",
        phases=[
            {"phaseType": "PRE_BUILD", "phaseStatus": "SUCCEEDED"},
            {"phaseType": "BUILD", "phaseStatus": "FAILED", "contexts": [{"message": "exit status 1"}]},
        ],
    )
    for answer in (build("IN_PROGRESS", "PROVISIONING"), build("IN_PROGRESS", "PROVISIONING"), failed):
        polling.codebuild.add_response("batch_get_builds", {"builds": [answer]}, {"ids": [BUILD_ID]})
    polling.ecr.add_client_error("describe_images", "ImageNotFoundException", "no such image")  # nobody else built it

    with pytest.raises(BuildFailedError) as raised:
        polling.follow()

    assert str(raised.value) == failure_message(failed)
    assert "FAILED in phase BUILD: exit status 1; logs: https://" in str(raised.value)
    assert polling.progress == ["[10s] PROVISIONING", "[30s] COMPLETED"]


def test_polling_stops_a_build_that_outlives_the_timeout(polling):
    for _ in range(30):  # 300 s at one poll per 10 s
        polling.codebuild.add_response("batch_get_builds", {"builds": [build("IN_PROGRESS", "BUILD")]})
    polling.codebuild.add_response("stop_build", {"build": build("STOPPED", "BUILD")}, {"id": BUILD_ID})

    with pytest.raises(BuildFailedError, match=r"still running after 5 min; stopped it; logs: https://"):
        polling.follow()
    assert polling.now == [300.0]


def test_polling_takes_the_digest_the_build_exported_without_asking_ecr(polling):
    digest = f"sha256:{'d' * 64}"
    exported = [{"name": "IMAGE_DIGEST", "value": digest}]
    polling.codebuild.add_response(
        "batch_get_builds", {"builds": [build("SUCCEEDED", "COMPLETED", exportedEnvironmentVariables=exported)]}
    )
    assert polling.follow() == digest  # the ECR Stubber holds no answer: a DescribeImages call would fail


def test_polling_refuses_a_success_that_pushed_nothing(polling):
    polling.codebuild.add_response("batch_get_builds", {"builds": [build("SUCCEEDED", "COMPLETED")]})
    polling.ecr.add_client_error("describe_images", "ImageNotFoundException", "no such image")
    with pytest.raises(BuildFailedError, match=rf"succeeded but pushed no {REPOSITORY}:{'a' * 64}"):
        polling.follow()
