"""`python -m graviton_commands.verify --env dev` against a moto server: a real boto3 client over HTTP on 127.0.0.1.

What moto cannot do, and how the tests stand in for it (in the server's own process, as tests/image_build does):
- Its CloudFormation drops `Architectures` from AWS::Lambda::Function and `RuntimePlatform` from
  AWS::ECS::TaskDefinition, and cannot create AWS::CodeBuild::Project or AWS::EKS::* at all. So the stack is created
  from a template holding what moto creates faithfully (the ECR repositories) and the outputs; functions, task
  definitions, projects and nodes are created through their own APIs with every property, and `ListStackResources`
  reports them too (`Deployment.adopt`), as CloudFormation lists what it created. verify's finder has one path.
  Nested stacks are moto's own: it creates `AWS::CloudFormation::Stack` resources from templates in its S3, named
  `<parent>-<logical id>-<random>` (its physical id is that name, where CloudFormation gives the stack's ARN; both
  are stack ids to DescribeStacks and ListStackResources).
- It does not implement `GetDownloadUrlForLayer`: the patched operation answers for blobs uploaded to the repository
  (through the real layer-upload API) with a URL on a local HTTP server that serves them by digest, as ECR answers
  with a presigned S3 URL. verify's download code is the one that runs against AWS.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from image_support import AARCH64, X86_64, Entry, elf, layer_tar
from support import ROOT, repo_context, run

from graviton_app.naming import (
    OUTPUT_BUILD_PROJECT,
    OUTPUT_EKS_APPLY_PROJECT,
    OUTPUT_EKS_CLUSTER,
    OUTPUT_IMAGE_URI,
    OUTPUT_REPOSITORY_URI,
    Endpoint,
    base_url_output,
    stack_name,
)
from graviton_commands.verify import command as verify
from graviton_commands.verify.endpoints import url_targets
from graviton_commands.verify.model import ImageRef

if TYPE_CHECKING:
    from moto.cloudformation.models import CloudFormationBackend
    from moto.core.responses import ActionResult
    from moto.ecr.responses import ECRResponse

FIXTURES = ROOT / "tests" / "fixtures" / "manifests"
# As the pipeline runs it (stacks/pipeline_stack.py VERIFY_COMMAND), from the repository root.
MODULE = ["python3", "-m", "graviton_commands.verify"]
PIPELINE_ENV = {"PYTHONPATH": "constructs"}
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # the account moto answers for
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PROJECT = "graviton-guarantee"
ARM_AMI, X86_AMI = "ami-0e9271c829888680e", "ami-03cf127a"  # moto's default AMIs: arm64 and x86_64
CLUSTER = "DevStackEksCluster1A2B3C4D"
FAST = ["--attempts", "1", "--backoff", "0", "--timeout", "5"]


def blob(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Every fixture by digest: what the blob server can serve (ECR decides, through the patch, what it may).
BLOBS = {digest_of(path.read_bytes()): path.read_bytes() for path in FIXTURES.glob("*.json")}


# Local servers: blobs (ECR's presigned URLs) and the services' GET /arch ----------------------------------------


class LocalHandler(BaseHTTPRequestHandler):
    """`/blobs/<digest>`: a config blob; `/<machine>/arch` and `/<machine>/<service path>/arch`: a service answering
    `{"machine": <machine>}` (a base URL `<local>/<machine>` with the service's path after it)."""

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts[0] == "blobs" and len(parts) == 2 and parts[1] in BLOBS:
            self._answer(200, "application/octet-stream", BLOBS[parts[1]])
        elif len(parts) >= 2 and parts[-1] == "arch":
            self._answer(200, "application/json", json.dumps({"machine": parts[0]}).encode())
        else:
            self._answer(404, "text/plain", b"not found")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def local_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LocalHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# The moto server and what it cannot do -----------------------------------------------------------------------------

# Stack name -> resources the tests created through the services' own APIs, listed as the stack's.
ADOPTED: dict[str, list[SimpleNamespace]] = {}


@pytest.fixture(scope="module")
def moto_url(local_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Imported here, not at the top: moto's CloudFormation imports every moto service (~2 s), which only the
    # worker that runs these tests needs, not every worker that collects this module.
    from moto.cloudformation.models import CloudFormationBackend
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult
    from moto.ecr.responses import ECRResponse
    from moto.server import ThreadedMotoServer
    from moto.utilities.utils import load_resource

    # moto's default AMIs (ARM_AMI and X86_AMI are two of them) and not the ~1,250 region-specific ones moto adds
    # to every new EC2 backend, that is after every reset (~0.1 s each time); no test launches one of those.
    amis = tmp_path_factory.mktemp("moto") / "amis.json"
    amis.write_text(json.dumps(load_resource("ec2/resources/amis.json")))

    class LayersNotFoundException(ServiceException):
        code = "LayersNotFoundException"

    list_stack_resources = CloudFormationBackend.list_stack_resources

    def with_adopted(self: CloudFormationBackend, stack_name_or_id: str) -> Any:
        stack, resources = list_stack_resources(self, stack_name_or_id)
        return stack, [*resources, *ADOPTED.get(stack.name, [])]

    def get_download_url_for_layer(self: ECRResponse) -> ActionResult:
        name, digest = self._get_param("repositoryName"), self._get_param("layerDigest")
        repository = self.ecr_backend.repositories.get(name)
        if repository is None or digest not in repository.layers:
            raise LayersNotFoundException(f"The layer {digest} does not exist in the repository {name}")
        return ActionResult({"downloadUrl": f"{local_url}/blobs/{digest}", "layerDigest": digest})

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_AMIS_PATH", str(amis))
        patch.setattr(CloudFormationBackend, "list_stack_resources", with_adopted)
        patch.setattr(ECRResponse, "get_download_url_for_layer", get_download_url_for_layer)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@pytest.fixture
def aws(moto_url: str, local_url: str, no_aws: None, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """A fresh moto account that verify (in this process or a subprocess) reaches through AWS_ENDPOINT_URL."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    ADOPTED.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return Deployment(moto_url, local_url)


# Seeding: an environment as `make deploy` leaves it --------------------------------------------------------------


@dataclass
class Deployment:
    """Builds one environment's stack and resources in moto, through the services' APIs."""

    url: str
    local_url: str
    environment: str = "dev"
    # One client per service for this test's seeding (creating a botocore client costs more than most calls).
    clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = boto3.client(name, region_name=REGION, endpoint_url=self.url)
        return self.clients[name]

    @property
    def stack(self) -> str:
        return stack_name(self.environment)

    def repository(self, service: str, environment: str | None = None) -> str:
        return f"{PROJECT}-{environment or self.environment}-{service}"

    def adopt(self, logical_id: str, resource_type: str, physical_id: str, *, stack: str | None = None) -> None:
        """List a resource the test created through its service's API as the stack's own (or `stack`'s, a nested
        stack's name)."""
        resource = SimpleNamespace(
            logical_resource_id=logical_id, cf_resource_type=resource_type, physical_resource_id=physical_id
        )
        ADOPTED.setdefault(stack or self.stack, []).append(resource)

    def deploy(self, outputs: dict[str, str], *, repositories: Sequence[str] = ()) -> None:
        """The stack: its repositories (moto creates them faithfully) and outputs; resources are adopted after."""
        template = {
            "Resources": {
                f"Repository{n}": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": name}}
                for n, name in enumerate(repositories)
            }
            or {"AlarmTopic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        self.client("cloudformation").create_stack(StackName=self.stack, TemplateBody=json.dumps(template))

    def deploy_nested(self, outputs: dict[str, str], nested: dict[str, dict[str, Any]]) -> dict[str, str]:
        """The stack with nested stacks (`AWS::CloudFormation::Stack`, templates in S3; moto creates them, named
        `<parent>-<logical id>-<random>` as CloudFormation names them): logical id -> template. Returns every nested
        stack's name by logical id, at any depth."""
        s3, bucket = self.client("s3"), "cdk-hnb659fds-assets"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})

        def resources(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
            for logical_id, template in templates.items():
                body = {**template, "Resources": {**template["Resources"], **resources(template.get("Nested", {}))}}
                body.pop("Nested", None)
                s3.put_object(Bucket=bucket, Key=f"{logical_id}.json", Body=json.dumps(body))
            return {
                logical_id: {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": f"https://s3.{REGION}.amazonaws.com/{bucket}/{logical_id}.json"},
                }
                for logical_id in templates
            }

        template = {
            "Resources": resources(nested),
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(StackName=self.stack, TemplateBody=json.dumps(template))
        names, stacks = {}, [self.stack]
        while stacks:
            summaries = cloudformation.list_stack_resources(StackName=stacks.pop())["StackResourceSummaries"]
            for summary in summaries:
                if summary["ResourceType"] == "AWS::CloudFormation::Stack":
                    names[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
                    stacks.append(summary["PhysicalResourceId"])
        return names

    def function_name(self, logical_id: str, stack: str | None = None) -> str:
        """As CloudFormation names a function: `<stack>-<logical id>-<random>`, a nested stack's name cut short to
        keep within Lambda's 64 characters."""
        return f"{(stack or self.stack)[:30]}-{logical_id}-AbCdEf123456"

    @staticmethod
    def project_name(logical_id: str) -> str:
        """As CloudFormation names a CodeBuild project: `<logical id>-<random>`."""
        return f"{logical_id}-Xy9Zw8Vu7Ts6"

    def create_repository(self, name: str) -> None:
        self.client("ecr").create_repository(repositoryName=name)

    def push(self, repository: str, manifest: str, *, tag: str | None, media_type: str | None = None) -> str:
        """What `docker push` does: upload the config blob a manifest names (if a fixture), then put the manifest."""
        ecr = self.client("ecr")
        text = blob(manifest)
        document = json.loads(text)
        config = document.get("config", {}).get("digest")
        if config in BLOBS:
            self.upload(repository, BLOBS[config])
        extra = {"imageTag": tag} if tag else {}
        media_type = media_type or document.get("mediaType")
        if media_type:
            extra["imageManifestMediaType"] = media_type
        ecr.put_image(repositoryName=repository, imageManifest=text.decode(), imageDigest=digest_of(text), **extra)
        return digest_of(text)

    def upload(self, repository: str, data: bytes) -> None:
        ecr = self.client("ecr")
        upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
        ecr.upload_layer_part(
            repositoryName=repository, uploadId=upload, partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data
        )
        ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest_of(data)])

    def role(self) -> str:
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        try:
            return iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            return iam.get_role(RoleName="fn")["Role"]["Arn"]

    def image_function(
        self, logical_id: str, image: str, *, architecture: str = "arm64", stack: str | None = None
    ) -> str:
        name = self.function_name(logical_id, stack)
        self.client("lambda").create_function(
            FunctionName=name,
            Role=self.role(),
            PackageType="Image",
            Code={"ImageUri": image},
            Architectures=[architecture],
        )
        self.adopt(logical_id, "AWS::Lambda::Function", name, stack=stack)
        return name

    def zip_function(self, logical_id: str, *, architecture: str = "arm64", stack: str | None = None) -> str:
        """Like CDK's Provider framework functions: code in a zip, arm64 by the guard's remediation."""
        name = self.function_name(logical_id, stack)
        self.client("lambda").create_function(
            FunctionName=name,
            Role=self.role(),
            Runtime="python3.13",
            Handler="index.handler",
            Code={"ZipFile": _zip()},
            Architectures=[architecture],
        )
        self.adopt(logical_id, "AWS::Lambda::Function", name, stack=stack)
        return name

    def task_definition(
        self, logical_id: str, image: str, *, cpu_architecture: str | None = "ARM64", stack: str | None = None
    ) -> str:
        platform = {"runtimePlatform": {"cpuArchitecture": cpu_architecture, "operatingSystemFamily": "LINUX"}}
        arn = self.client("ecs").register_task_definition(
            family=f"{self.stack}{logical_id}9F8E7D6C",
            containerDefinitions=[{"name": "web", "image": image, "essential": True}],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            **(platform if cpu_architecture else {}),
        )["taskDefinition"]["taskDefinitionArn"]
        self.adopt(logical_id, "AWS::ECS::TaskDefinition", arn, stack=stack)
        return arn

    def build_project(
        self, logical_id: str, *, environment_type: str = "ARM_CONTAINER", stack: str | None = None
    ) -> str:
        name = self.project_name(logical_id)
        image = "aws/codebuild/amazonlinux-aarch64-standard:3.0"
        if not environment_type.startswith("ARM"):
            image = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
        self.client("codebuild").create_project(
            name=name,
            source={"type": "S3", "location": "devstack-buildsources-1a2b3c/cdk-asset.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": environment_type, "image": image, "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/build",
        )
        self.adopt(logical_id, "AWS::CodeBuild::Project", name, stack=stack)
        return name

    def eks_node(self, *, ami: str = ARM_AMI, instance_type: str = "t4g.medium") -> str:
        """A managed node group's instance, tagged as EKS tags it."""
        tags = {"eks:cluster-name": CLUSTER, "eks:nodegroup-name": "Nodes"}
        reservation = self.client("ec2").run_instances(
            ImageId=ami,
            InstanceType=instance_type,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )
        return reservation["Instances"][0]["InstanceId"]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def deploy_dev(aws: Deployment, **changes: Any) -> dict[str, Any]:
    """DevStack, all arm64 unless `changes` say otherwise: the api on Lambda, the web service on Fargate and EKS,
    both built on ARM CodeBuild, the images pushed as `docker push` pushes them."""
    api_repo, web_repo = aws.repository("api"), aws.repository("web")
    api_tag, web_tag = "3f2a9c1b7d4e", "8e1d2c3b4a59"
    api_image, web_image = f"{REGISTRY}/{api_repo}:{api_tag}", f"{REGISTRY}/{web_repo}:{web_tag}"
    outputs = {
        f"Api{OUTPUT_BUILD_PROJECT}": aws.project_name("ApiBuildProject"),
        f"Api{OUTPUT_REPOSITORY_URI}": f"{REGISTRY}/{api_repo}",
        f"Api{OUTPUT_IMAGE_URI}": api_image,
        base_url_output("lambda"): f"{aws.local_url}/aarch64/",
        "WebServiceServiceURL7A781EC3": "http://not-a-service-output.example",
        f"Web{OUTPUT_BUILD_PROJECT}": aws.project_name("WebBuildProject"),
        f"Web{OUTPUT_REPOSITORY_URI}": f"{REGISTRY}/{web_repo}",
        f"Web{OUTPUT_IMAGE_URI}": web_image,
        base_url_output("ecs"): f"{aws.local_url}/{changes.get('machine', 'aarch64')}",
        OUTPUT_EKS_CLUSTER: CLUSTER,
        OUTPUT_EKS_APPLY_PROJECT: aws.project_name("EksApplyProject"),
        "BuildSourcesBucket": "devstack-buildsources-1a2b3c",
    }
    aws.deploy(outputs, repositories=[api_repo, web_repo])
    aws.push(api_repo, changes.get("api_manifest", "docker-v2-arm64.manifest.json"), tag=api_tag)
    aws.push(web_repo, "oci-arm64.manifest.json", tag=web_tag)
    names = {
        "function": aws.image_function("ApiFunction", api_image, architecture=changes.get("lambda", "arm64")),
        "provider": aws.zip_function("ProviderFrameworkOnEvent"),
        "task": aws.task_definition("WebServiceTaskDef", web_image, cpu_architecture=changes.get("ecs", "ARM64")),
        "api_build": aws.build_project("ApiBuildProject", environment_type=changes.get("codebuild", "ARM_CONTAINER")),
        "web_build": aws.build_project("WebBuildProject"),
        "apply": aws.build_project("EksApplyProject"),
        "node": aws.eks_node(ami=changes.get("node_ami", ARM_AMI)),
    }
    aws.adopt("EksCluster", "AWS::EKS::Cluster", CLUSTER)
    aws.adopt("EksNodes", "AWS::EKS::Nodegroup", f"{CLUSTER}/Nodes")
    return names


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def rows(self) -> list[list[str]]:
        return [line.split() for line in self.out.splitlines()]

    def row(self, resource_prefix: str) -> list[str]:
        [found] = [line.split() for line in self.out.splitlines() if line.startswith(resource_prefix)]
        return found


def app_root(root: Path, context: dict[str, Any]) -> Path:
    """A folder verify can take as `--root`: a complete cdk.json with `context`, and the repository's docker/ (the
    settings check that every service's folder and Dockerfile exist)."""
    (root / "cdk.json").write_text(json.dumps({**json.loads((ROOT / "cdk.json").read_text()), "context": context}))
    (root / "docker").symlink_to(ROOT / "docker", target_is_directory=True)
    return root


# The sample services, as the deployments below make them: verify reads an app with these alone, so that a service a
# user adds to cdk.json, which has no resources in these deployments, does not count here.
SAMPLES = ("api", "web")
pytestmark = pytest.mark.sample


def samples_context() -> dict[str, Any]:
    """cdk.json's context with the sample services alone."""
    context = repo_context()
    context["services"] = [service for service in context["services"] if service["name"] in SAMPLES]
    assert [service["name"] for service in context["services"]] == list(SAMPLES)
    return context


@pytest.fixture(scope="module")
def samples_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return app_root(tmp_path_factory.mktemp("samples"), samples_context())


@pytest.fixture(autouse=True)
def _samples_only(samples_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify's default `--root` is the folder it runs in."""
    monkeypatch.chdir(samples_root)


def verify_dev(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    code = verify.main(["--env", "dev", *FAST, *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return Result(code, out, err)


def the_line(result: Result) -> str:
    """A refusal: exit 2, nothing on stdout, exactly one line on stderr."""
    assert result.code == 2, result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def layered_image(aws: Deployment, repository: str, tag: str, layers: Sequence[dict[str, Entry]]) -> None:
    """Give `tag` an arm64 image whose layers (gzip tars, uploaded as `docker push` uploads them) hold `layers`;
    the image the tag named before is deleted."""
    ecr = aws.client("ecr")
    ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
    manifest = json.loads(blob("docker-v2-arm64.manifest.json"))
    aws.upload(repository, BLOBS[manifest["config"]["digest"]])
    tars = [layer_tar(files, compress=True) for files in layers]
    for data in tars:
        aws.upload(repository, data)
        BLOBS[digest_of(data)] = data  # the blob server answers the presigned URLs for them
    layer_type = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    manifest["layers"] = [{"mediaType": layer_type, "size": len(t), "digest": digest_of(t)} for t in tars]
    ecr.put_image(
        repositoryName=repository,
        imageManifest=json.dumps(manifest, indent=3),
        imageTag=tag,
        imageManifestMediaType=manifest["mediaType"],
    )


BASE_LAYER: dict[str, Entry] = {"usr/bin/python3.13": elf(AARCH64), "usr/lib/libc.so.6": elf(AARCH64)}


# All arm64 ---------------------------------------------------------------------------------------------------------


def test_an_all_arm64_environment_exits_0_with_a_row_per_resource(aws, capsys):
    names = deploy_dev(aws)
    result = verify_dev(capsys)

    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0] == f"arm64 verification: dev (stack DevStack, account {ACCOUNT}, {REGION})"
    assert result.row(names["function"])[1:] == ["arm64", "arm64", "ok"]
    assert result.row(names["provider"])[1:] == ["arm64", "arm64", "ok"]
    assert result.row(names["task"].rpartition("/")[2])[1:] == ["ARM64", "ARM64", "ok"]
    for project in ("api_build", "web_build", "apply"):
        assert result.row(names[project])[2:] == ["ARM_CONTAINER", "ok"]
    assert result.row(names["node"])[-3:] == ["arm64", "arm64", "ok"]
    assert result.row(f"{aws.repository('api')}:3f2a9c1b7d4e")[1:] == ["linux/arm64", "linux/arm64/v8", "ok"]
    assert result.row(f"{aws.repository('web')}:8e1d2c3b4a59")[1:] == ["linux/arm64", "linux/arm64/v8", "ok"]
    assert ["api/lambda", "aarch64", "aarch64", "ok"] in result.rows
    assert ["web/ecs", "aarch64", "aarch64", "ok"] in result.rows
    # one block per check, each headed by what its rows are
    headers = [line.split("  ")[0] for line in lines if line.endswith("verdict")]
    assert headers == [
        "Lambda function",
        "ECS task definition",
        "CodeBuild project",
        "EKS node",
        "ECR image",
        "service",
    ]
    assert len([row for row in result.rows if row and row[-1] == "ok"]) == 11
    # progress on stderr, no summary when everything passed
    assert result.err.startswith(f"verify: dev: stack DevStack (CREATE_COMPLETE) in account {ACCOUNT}, {REGION}")
    assert "ECR graviton-guarantee-dev-api: 1 image(s)" in result.err
    assert "not on Graviton" not in result.err


def test_the_pipeline_command_runs_the_module_from_the_source_checkout(aws):
    """`PYTHONPATH=constructs python3 -m graviton_commands.verify`: the package and the manifest logic from the
    checkout, as the pipeline's verify step runs it."""
    deploy_dev(aws)
    result = run([*MODULE, "--env", "dev", *FAST], env=PIPELINE_ENV, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "linux/arm64/v8" in result.stdout and "Traceback" not in result.stderr


# Nested stacks: one per service ----------------------------------------------------------------------------------


def deploy_nested_dev(aws: Deployment) -> dict[str, str]:
    """DevStack with one nested stack per service: the parent keeps the base URL outputs; each service's nested stack
    holds its repository, workload, build project and outputs, and the api's one more nested stack, two deep, with a
    provider function. Returns what verify must find, by kind."""
    images = {service: f"{REGISTRY}/{aws.repository(service)}:{tag}" for service, tag in TAGS.items()}

    def service_stack(service: str) -> dict[str, Any]:
        service_id = service.capitalize()
        outputs = {
            f"{service_id}{OUTPUT_BUILD_PROJECT}": aws.project_name(f"{service_id}BuildProject"),
            f"{service_id}{OUTPUT_REPOSITORY_URI}": f"{REGISTRY}/{aws.repository(service)}",
            f"{service_id}{OUTPUT_IMAGE_URI}": images[service],
        }
        return {
            "Resources": {
                "Repository": {
                    "Type": "AWS::ECR::Repository",
                    "Properties": {"RepositoryName": aws.repository(service)},
                }
            },
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }

    workers = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stacks = aws.deploy_nested(
        {base_url_output("lambda"): f"{aws.local_url}/aarch64/", base_url_output("ecs"): f"{aws.local_url}/aarch64"},
        {
            "ApiNestedStackResource": {**service_stack("api"), "Nested": {"WorkersNestedStackResource": workers}},
            "WebNestedStackResource": service_stack("web"),
        },
    )
    api, web, deeper = (
        stacks[key] for key in ("ApiNestedStackResource", "WebNestedStackResource", "WorkersNestedStackResource")
    )
    for service, tag in TAGS.items():
        aws.push(aws.repository(service), "docker-v2-arm64.manifest.json", tag=tag)
    return {
        "function": aws.image_function("ApiFunction", images["api"], stack=api),
        "provider": aws.zip_function("ProviderFrameworkOnEvent", stack=deeper),
        "api_build": aws.build_project("ApiBuildProject", stack=api),
        "task": aws.task_definition("WebServiceTaskDef", images["web"], stack=web),
        "web_build": aws.build_project("WebBuildProject", stack=web),
    }


TAGS = {"api": "3f2a9c1b7d4e", "web": "8e1d2c3b4a59"}


def test_the_workloads_builds_and_images_of_nested_stacks_are_checked(aws, capsys):
    names = deploy_nested_dev(aws)
    result = verify_dev(capsys)

    assert result.code == 0, result.out + result.err
    assert result.row(names["function"])[1:] == ["arm64", "arm64", "ok"]
    assert result.row(names["provider"])[1:] == ["arm64", "arm64", "ok"]  # two deep
    assert result.row(names["task"].rpartition("/")[2])[1:] == ["ARM64", "ARM64", "ok"]
    for project in ("api_build", "web_build"):
        assert result.row(names[project])[2:] == ["ARM_CONTAINER", "ok"]
    for service, tag in TAGS.items():
        assert result.row(f"{aws.repository(service)}:{tag}")[1:] == ["linux/arm64", "linux/arm64/v8", "ok"]
    assert ["api/lambda", "aarch64", "aarch64", "ok"] in result.rows
    assert "outputs in 4 stacks" in result.err.splitlines()[0]


def test_a_nested_stack_that_cannot_be_read_is_a_row_that_cannot_be_checked_and_the_rest_is_checked(aws, capsys):
    names = deploy_nested_dev(aws)
    missing = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/DevStack-JobsNestedStack-1A2B/0f1e2d3c"
    aws.adopt("JobsNestedStackResource", "AWS::CloudFormation::Stack", missing)
    result = verify_dev(capsys)

    assert result.code == 2, result.out + result.err
    assert result.row("DevStack-JobsNestedStack-1A2B")[1:] == ["readable", "-", "cannot", "check"]
    assert (
        "cannot check: Nested stack DevStack-JobsNestedStack-1A2B: JobsNestedStackResource in DevStack could not be"
        " read, so its resources are not checked: AWS refused DescribeStacks: ValidationError: Stack with id"
        f" {missing} does not exist"
    ) in result.out
    assert result.row(names["function"])[-1] == "ok"
    assert result.row(names["web_build"])[-1] == "ok"


def test_an_output_key_in_two_stacks_is_one_line_exit_2(aws, capsys):
    aws.deploy_nested(
        {"ApiBuildProject": "one"},
        {"ApiNestedStackResource": {"Resources": {}, "Outputs": {"ApiBuildProject": {"Value": "two"}}}},
    )
    line = the_line(verify_dev(capsys))
    assert line.startswith("verify: dev: output 'ApiBuildProject' is in both stack DevStack and stack DevStack-Api")


# Each x86 kind, and an index ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "resource", "found", "summary"),
    [
        ({"lambda": "x86_64"}, "function", "x86_64", "Lambda function DevStack-ApiFunction-AbCdEf123456 (x86_64)"),
        ({"ecs": "X86_64"}, "task", "X86_64", "ECS task definition DevStackWebServiceTaskDef9F8E7D6C:1 (X86_64)"),
        ({"ecs": None}, "task", "unset (X86_64)", "ECS task definition DevStackWebServiceTaskDef9F8E7D6C:1 (unset"),
        ({"codebuild": "LINUX_CONTAINER"}, "api_build", "LINUX_CONTAINER", "CodeBuild project ApiBuildProject-"),
        ({"node_ami": X86_AMI}, "node", "x86_64", "EKS node i-"),
        (
            {"api_manifest": "docker-v2-amd64.manifest.json"},
            None,
            "linux/amd64",
            "ECR image graviton-guarantee-dev-api:3f2a9c1b7d4e (linux/amd64)",
        ),
        ({"machine": "x86_64"}, None, "x86_64", "web/ecs (x86_64)"),
    ],
    ids=["lambda", "ecs", "ecs-unset", "codebuild", "eks-node", "image", "get-arch"],
)
def test_each_kind_of_x86_exits_1_naming_it(aws, capsys, change, resource, found, summary):
    names = deploy_dev(aws, **change)
    result = verify_dev(capsys)

    assert result.code == 1, result.out + result.err
    wrong = [row for row in result.rows if row and row[-1] == "WRONG"]
    assert len(wrong) == 1, result.out
    if resource:
        assert names[resource].rpartition("/")[2] in " ".join(wrong[0])
    assert found in " ".join(wrong[0])
    last = result.err.splitlines()[-1]
    assert last.startswith("verify: dev: not on Graviton: ") and summary in last
    assert [line for line in result.out.splitlines() if line.startswith("WRONG: ")]  # why, under the table


def test_an_index_exits_1_with_the_reason(aws, capsys):
    """`buildx --push` with attestations: ECR holds the index (tagged), its image and its attestation (untagged)."""
    deploy_dev(aws)
    web = aws.repository("web")
    aws.push(web, "buildx-attestation.manifest.json", tag=None)
    aws.push(web, "buildx-index-arm64-attestation.json", tag="buildx")  # the arm64 image is already there
    result = verify_dev(capsys)

    assert result.code == 1
    assert result.row(f"{web}:buildx")[1:] == ["linux/arm64", "index", "WRONG"]
    reason = "an image index (linux/arm64 and 1 attestation(s)), not a single image: Lambda refuses indexes"
    assert f"WRONG: ECR image {web}:buildx: {reason}" in result.out
    attestation = digest_of(blob("buildx-attestation.manifest.json"))
    assert result.row(f"{web}@{attestation[:19]} ")[1:] == ["linux/arm64", "unknown/unknown", "WRONG"]
    assert f"untagged {attestation}" in result.out
    assert result.row(f"{web}:8e1d2c3b4a59")[-1] == "ok"  # the image inside the index is fine on its own
    assert f"ECR image {web}:buildx (index)" in result.err.splitlines()[-1]


def test_a_url_given_replaces_the_stacks_output_for_that_service(aws, capsys):
    deploy_dev(aws, machine="x86_64")  # web/ecs, under EcsBaseUrl, answers x86_64
    result = verify_dev(capsys, "--url", f"web/ecs={aws.local_url}/aarch64")
    assert result.code == 0, result.out + result.err
    assert f"GET {aws.local_url}/aarch64/arch" in result.err
    assert f"{aws.local_url}/x86_64" not in result.err


# --deep: the bytes in the layers ------------------------------------------------------------------------------------


def test_deep_finds_x86_code_in_the_layers_of_an_image_labelled_arm64(aws, capsys):
    deploy_dev(aws)
    api, web = aws.repository("api"), aws.repository("web")
    fetched = {"usr/local/bin/": None, "usr/local/bin/kubectl": elf(X86_64)}
    layered_image(aws, api, "3f2a9c1b7d4e", [BASE_LAYER, fetched, {"var/task/app.py": b"print()\n"}])
    layered_image(aws, web, "8e1d2c3b4a59", [BASE_LAYER])
    assert verify_dev(capsys).code == 0  # the config's label says arm64

    result = verify_dev(capsys, "--deep")

    assert result.code == 1, result.out + result.err
    assert result.row(f"{api}:3f2a9c1b7d4e")[1:] == ["linux/arm64", "x86-64", "files", "WRONG"]
    assert result.row(f"{web}:8e1d2c3b4a59")[-1] == "ok"
    why = f"WRONG: ECR image {api}:3f2a9c1b7d4e: its config says linux/arm64/v8 but 1 ELF file(s) are not aarch64:"
    assert f"{why} /usr/local/bin/kubectl (x86-64)" in result.out
    last = result.err.splitlines()[-1]
    assert last.startswith(f"verify: dev: not on Graviton: ECR image {api}:3f2a9c1b7d4e (x86-64 files)")
    assert f"ECR {api}: scanning the layers of 1 image(s)" in result.err


def test_deep_passes_an_environment_whose_images_hold_aarch64_code_only(aws, capsys):
    deploy_dev(aws)
    removed_later = {"opt/": None, "opt/x86-tool": elf(X86_64)}
    layered_image(aws, aws.repository("api"), "3f2a9c1b7d4e", [BASE_LAYER, removed_later, {"opt/.wh.x86-tool": b""}])
    layered_image(aws, aws.repository("web"), "8e1d2c3b4a59", [BASE_LAYER, {"app/main.py": b"app = None\n"}])
    result = verify_dev(capsys, "--deep")

    assert result.code == 0, result.out + result.err
    assert result.row(f"{aws.repository('api')}:3f2a9c1b7d4e")[1:] == ["linux/arm64", "linux/arm64/v8", "ok"]


def test_deep_cannot_check_an_image_whose_layers_ecr_cannot_serve(aws, capsys):
    deploy_dev(aws)  # the fixtures' manifests name layers never uploaded
    result = verify_dev(capsys, "--deep")

    assert result.code == 2, result.out + result.err
    assert result.row(f"{aws.repository('api')}:3f2a9c1b7d4e")[-2:] == ["cannot", "check"]
    assert "LayersNotFoundException" in result.out


def test_deep_without_aws_is_one_line_exit_2(capsys):
    code = verify.main(["--env", "dev", "--no-aws", "--deep", "--url", "api/lambda=https://example.com"])
    assert the_line(Result(code, *capsys.readouterr())) == (
        "verify: --deep scans the images in ECR, an AWS check; drop it or --no-aws"
    )


# A promoted environment --------------------------------------------------------------------------------------------


def test_a_promoted_environment_checks_the_building_environments_repositories(aws, capsys):
    """TestStack has no repository: its function and task run dev's images, which are what gets checked."""
    api_repo, web_repo = aws.repository("api", "dev"), aws.repository("web", "dev")
    for name in (api_repo, web_repo):
        aws.create_repository(name)
    aws.push(api_repo, "docker-v2-arm64.manifest.json", tag="3f2a9c1b7d4e")
    aws.push(api_repo, "docker-v2-amd64.manifest.json", tag="old-x86")  # in dev's repository, run by nobody
    aws.push(web_repo, "oci-arm64.manifest.json", tag="8e1d2c3b4a59")
    aws.environment = "test"
    api_image, web_image = f"{REGISTRY}/{api_repo}:3f2a9c1b7d4e", f"{REGISTRY}/{web_repo}:8e1d2c3b4a59"
    function = aws.image_function("ApiFunction", api_image)
    aws.task_definition("WebServiceTaskDef", web_image)
    aws.deploy(
        {"ApiImageUri": api_image, "WebImageUri": web_image, base_url_output("lambda"): f"{aws.local_url}/aarch64"}
    )

    code = verify.main(["--env", "test", "--json", *FAST])
    out, err = capsys.readouterr()

    assert code == 1, out + err
    images = {row["resource"]: row for row in json.loads(out)["rows"] if row["check"] == "ECR image"}
    assert set(images) == {f"{api_repo}:3f2a9c1b7d4e", f"{api_repo}:old-x86", f"{web_repo}:8e1d2c3b4a59"}
    assert images[f"{api_repo}:3f2a9c1b7d4e"]["verdict"] == "ok"
    assert f"run by Lambda function {function}" in images[f"{api_repo}:3f2a9c1b7d4e"]["detail"]
    assert "run by ECS task definition TestStackWebServiceTaskDef" in images[f"{web_repo}:8e1d2c3b4a59"]["detail"]
    old = images[f"{api_repo}:old-x86"]
    assert (old["found"], old["verdict"]) == ("linux/amd64", "WRONG")
    assert old["detail"].startswith("its config says linux/amd64, not linux/arm64")
    assert f"ECR {web_repo}: 1 image(s)" in err


# What cannot be checked -------------------------------------------------------------------------------------------


def test_an_image_a_workload_runs_that_is_not_in_the_repository_cannot_be_checked(aws, capsys):
    deploy_dev(aws)
    ecr = aws.client("ecr")
    ecr.batch_delete_image(repositoryName=aws.repository("web"), imageIds=[{"imageTag": "8e1d2c3b4a59"}])
    result = verify_dev(capsys)

    assert result.code == 2
    assert "run by ECS task definition DevStackWebServiceTaskDef9F8E7D6C:1 (web)" in result.out
    assert "but not among the repository's active images" in result.out


def test_a_config_blob_ecr_does_not_have_cannot_be_checked(aws, capsys):
    deploy_dev(aws)
    api = aws.repository("api")
    manifest = blob("docker-v2-amd64.manifest.json")
    aws.client("ecr").put_image(repositoryName=api, imageManifest=manifest.decode(), imageTag="no-config")
    result = verify_dev(capsys)

    assert result.code == 2
    assert result.row(f"{api}:no-config")[1:] == ["linux/arm64", "-", "cannot", "check"]
    assert "LayersNotFoundException" in result.out


def test_no_credentials_is_one_line_exit_2(aws, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    line = the_line(verify_dev(capsys))
    assert line.startswith("verify: dev: no AWS credentials found; set AWS_PROFILE")


def test_a_stack_that_is_not_deployed_is_one_line_exit_2(aws, capsys):
    line = the_line(verify_dev(capsys))
    assert (
        line
        == f"verify: dev: stack DevStack is not deployed in account {ACCOUNT}, {REGION}; run make deploy ENV=dev first"
    )


def test_no_region_is_one_line_exit_2(aws, capsys, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    line = the_line(verify_dev(capsys))
    assert line.startswith("verify: dev: no AWS region: environment 'dev' sets no 'region' in cdk.json")


def test_credentials_for_another_account_are_one_line_exit_2(aws, capsys, tmp_path):
    context = samples_context()
    for settings in context["environments"].values():  # test and prod run dev's images: the same account
        settings.update(account="111111111111", region=REGION)
    app_root(tmp_path, context)
    code = verify.main(["--env", "dev", "--root", str(tmp_path), *FAST])
    line = the_line(Result(code, *capsys.readouterr()))
    assert line == (
        f"verify: dev: environment 'dev' is account 111111111111 (cdk.json) but the credentials are for account"
        f" {ACCOUNT}; use credentials for 111111111111"
    )


def test_an_environment_cdk_json_does_not_configure_is_one_line_exit_2(aws, capsys):
    line = the_line(Result(verify.main(["--env", "qa", *FAST]), *capsys.readouterr()))
    assert line == "verify: qa: environment 'qa' is not configured in cdk.json; configured: dev, test, prod"


def test_without_boto3_the_aws_checks_are_one_line_exit_2(aws):
    probe = (
        "import runpy, sys\n"
        "sys.modules['boto3'] = None\n"
        "sys.argv = ['verify', '--env', 'dev']\n"
        "runpy.run_module('graviton_commands.verify', run_name='__main__', alter_sys=True)\n"
    )
    result = run(["python3", "-c", probe], env=PIPELINE_ENV, cwd=ROOT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "verify: dev: the AWS checks need boto3: run make setup (or pip install boto3), or check endpoints only with"
        " --no-aws --url SERVICE=URL"
    ]


# --json ------------------------------------------------------------------------------------------------------------


def test_json_has_the_environment_and_one_row_per_resource(aws, capsys):
    names = deploy_dev(aws, **{"lambda": "x86_64"})
    result = verify_dev(capsys, "--json")
    report = json.loads(result.out)

    assert result.code == 1 and report["exit_code"] == 1
    assert {key: report[key] for key in ("environment", "aws", "stack", "account", "region")} == {
        "environment": "dev",
        "aws": True,
        "stack": "DevStack",
        "account": ACCOUNT,
        "region": REGION,
    }
    assert all(set(row) == {"check", "resource", "expected", "found", "verdict", "detail"} for row in report["rows"])
    assert {row["check"] for row in report["rows"]} == {
        "Lambda function",
        "ECS task definition",
        "CodeBuild project",
        "EKS node",
        "ECR image",
        "GET /arch",
    }
    [wrong] = [row for row in report["rows"] if row["verdict"] == "WRONG"]
    assert (wrong["check"], wrong["resource"], wrong["expected"], wrong["found"]) == (
        "Lambda function",
        names["function"],
        "arm64",
        "x86_64",
    )
    assert "architecture=lambda_.Architecture.ARM_64" in wrong["detail"]


# The endpoints the settings name -----------------------------------------------------------------------------------


def test_url_targets_put_each_services_path_under_its_targets_base_url_output():
    """Label -> URL from the settings' endpoints (`AppConfig.endpoints`): a path under `LambdaBaseUrl` or `EcsBaseUrl`,
    or a host URL the settings fix; CDK's own outputs and per-service outputs are no endpoint."""
    endpoints = [
        Endpoint("api/lambda", "LambdaBaseUrl", "/api"),
        Endpoint("web/ecs", "EcsBaseUrl", "/web"),
        Endpoint("shop/lambda", "LambdaBaseUrl", "/shop"),
        Endpoint("shop/ecs", "EcsBaseUrl", fixed_url="https://shop.example.com"),
    ]
    outputs = {
        "LambdaBaseUrl": "https://a.execute-api.eu-west-1.amazonaws.com",
        "EcsBaseUrl": "https://d1.cloudfront.net/",
        "WebServiceServiceURL7A781EC3": "e",
        "ApiLambdaUrl": "f",
    }
    assert url_targets(outputs, endpoints) == {
        "api/lambda": "https://a.execute-api.eu-west-1.amazonaws.com/api",
        "web/ecs": "https://d1.cloudfront.net/web",
        "shop/lambda": "https://a.execute-api.eu-west-1.amazonaws.com/shop",
        "shop/ecs": "https://shop.example.com",
    }
    # A base URL output CloudFormation left empty, or one not there: only the fixed host URL is known.
    assert url_targets({"LambdaBaseUrl": ""}, endpoints) == {"shop/ecs": "https://shop.example.com"}


def test_verify_takes_every_services_path_from_the_settings(aws, capsys, tmp_path):
    """A route the settings give (`route.path`) is where verify asks, under the target's base URL."""
    context = samples_context()
    for service in context["services"]:
        service["route"] = {"path": f"/{service['name']}-v2"}
    app_root(tmp_path, context)
    deploy_dev(aws)
    code = verify.main(["--env", "dev", "--root", str(tmp_path), *FAST])
    result = Result(code, *capsys.readouterr())
    assert result.code == 0, result.out + result.err
    for service in context["services"]:
        assert f"GET {aws.local_url}/aarch64/{service['name']}-v2/arch" in result.err


def test_a_service_on_lambda_and_ecs_gets_both_endpoints_verified(aws, capsys, tmp_path):
    """One endpoint per target: the service's path under `LambdaBaseUrl` and under `EcsBaseUrl`, each asked under its
    own label. (The fake service answers the first segment of its path: the routes are named after machines.)"""
    context = samples_context()
    context["services"][0].update(targets=["lambda", "ecs"], route={"path": "/x86_64"})
    context["services"][1]["route"] = {"path": "/aarch64"}
    app_root(tmp_path, context)
    aws.deploy(
        {
            base_url_output("lambda"): f"{aws.local_url}/aarch64",
            base_url_output("ecs"): aws.local_url,
        }
    )
    code = verify.main(["--env", "dev", "--root", str(tmp_path), *FAST])
    result = Result(code, *capsys.readouterr())

    assert result.code == 1, result.out + result.err
    assert ["api/lambda", "aarch64", "aarch64", "ok"] in result.rows
    assert ["api/ecs", "aarch64", "x86_64", "WRONG"] in result.rows
    assert ["web/ecs", "aarch64", "aarch64", "ok"] in result.rows
    assert f"GET {aws.local_url}/aarch64/x86_64/arch" in result.err and f"GET {aws.local_url}/x86_64/arch" in result.err
    assert result.err.splitlines()[-1] == "verify: dev: not on Graviton: api/ecs (x86_64); expected aarch64"


def test_ecr_image_uris_parse_by_tag_and_digest():
    digest = "sha256:" + "a" * 64
    ref = ImageRef.parse(f"{REGISTRY}/{PROJECT}-dev-api:3f2a")
    assert ref == ImageRef(ACCOUNT, REGION, f"{PROJECT}-dev-api", "3f2a", None)
    assert ImageRef.parse(f"{REGISTRY}/team/web@{digest}").digest == digest
    assert ImageRef.parse("public.ecr.aws/lambda/python:3.13") is None
    assert ImageRef.parse(f"{REGISTRY}/{PROJECT}-dev-api").tag is None
