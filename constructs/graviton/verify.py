"""Verify that an environment runs on Graviton, in the live account: images, functions, tasks, nodes, builds, endpoints.

    python -m graviton.verify --env dev [--json]                 # every check; credentials for dev's account
    make verify ENV=dev                                           # the same, after make setup
    python3 constructs/graviton/verify.py --env prod --no-aws --url api=https://... --url web=http://...

With AWS (the default) it reads the environment's stack (`DevStack`: `describe_stacks` outputs and
`list_stack_resources`) and checks, one row per resource (resource, expected, found, verdict):

    ECR image            every active image in the repositories the stack names or its workloads run (for a
                         promoted environment, the building environment's): a single image whose config says
                         linux/arm64; an index, an artifact or another platform fails (archived images cannot be
                         pulled, and DescribeImages does not list them)
    Lambda function      every AWS::Lambda::Function: Architectures ["arm64"]
    ECS task definition  every AWS::ECS::TaskDefinition: runtimePlatform.cpuArchitecture ARM64
    CodeBuild project    every AWS::CodeBuild::Project: ARM_CONTAINER, ARM_LAMBDA_CONTAINER or ARM_EC2
    EKS node             every running EC2 instance tagged eks:cluster-name=<EksClusterName output>: arm64
    GET /arch            every <Service>Url output: {"machine": "aarch64"}

Flags:
    --env ENV          the environment (dev, test, prod); with AWS it must be in cdk.json
    --stack NAME       the stack to read (default: <Env>Stack, the name `cdk deploy` and the pipeline give it)
    --region REGION    default: environments.<env>.region in cdk.json, else AWS_REGION / AWS_DEFAULT_REGION / profile
    --url SERVICE=URL  repeatable; with AWS it replaces or adds to the stack's <Service>Url outputs
    --no-aws           only GET /arch on the --url endpoints: no credentials, standard library only (the pipeline
                       runs this for an environment in another account than its own)
    --json             the rows as JSON on stdout instead of the table
    --attempts N, --backoff S, --timeout S   patience with endpoints (default 5 tries, 2 s doubling, 10 s each)

Exit 0 when every row is arm64, 1 when anything is not (an x86 function, task, node, build or image, an index),
2 when something could not be checked: no boto3, no credentials, no region, the stack not deployed, a bad argument
(one line on stderr, no traceback), or a resource that could not be read (its row says why).

Standard library only unless the AWS checks run: boto3 is imported only then, so `--no-aws` runs in a bare
container; the pipeline's verify step installs the boto3 that requirements.txt pins. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.util
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

PROG = "verify"
HERE = Path(__file__).resolve().parent
# cdk.json lives at the repository root, wherever the command is started from.
ROOT = HERE.parents[1]
# The registry's manifest logic, shared with the gatekeeper's Lambda (standard library only).
IMAGE_MANIFEST_FILE = HERE / "registry" / "runtime" / "image_manifest.py"

EXPECTED_MACHINE = "aarch64"
ARCH_PATH = "/arch"
EXIT_OK, EXIT_WRONG_MACHINE, EXIT_CANNOT_CHECK = 0, 1, 2
# A freshly deployed ALB answers 502/503 until its targets pass health checks: 2, 4, 8, 16 s covers that.
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_TIMEOUT_SECONDS = 10.0
# Statuses worth waiting for; any other error status is an answer, and retrying would not change it.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024
# An image config is a few KiB: anything far larger is not one.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Config blobs are fetched in parallel: one presigned URL and one GET per image.
IMAGE_WORKERS = 8
# BatchGetImage and BatchGetProjects take at most 100 ids per call.
BATCH = 100

OK, WRONG, CANNOT_CHECK = "ok", "WRONG", "cannot check"

# What each check's rows are about; the table's first column is named after it.
CHECK_ARCH = "GET /arch"
CHECK_IMAGE = "ECR image"
CHECK_LAMBDA = "Lambda function"
CHECK_TASK = "ECS task definition"
CHECK_BUILD = "CodeBuild project"
CHECK_NODE = "EKS node"
RESOURCE_HEADERS = {CHECK_ARCH: "service"}

EXPECTED_IMAGE = "linux/arm64"
EXPECTED_LAMBDA = ["arm64"]
EXPECTED_CPU = "ARM64"
EXPECTED_NODE = "arm64"
ARM_BUILD_TYPES = ("ARM_CONTAINER", "ARM_LAMBDA_CONTAINER", "ARM_EC2")

# Copies of graviton.constants, which imports aws-cdk-lib (not installed in the pipeline's verify step); a test
# keeps them equal.
OUTPUT_URL = "Url"
OUTPUT_IMAGE_URI = "ImageUri"
OUTPUT_REPOSITORY_URI = "RepositoryUri"
OUTPUT_BUILD_PROJECT = "BuildProject"
OUTPUT_EKS_CLUSTER = "EksClusterName"
OUTPUT_EKS_APPLY_PROJECT = "EksApplyProject"
# `<ServiceId>Url`: CDK's own outputs (`WebServiceServiceURL7A781EC3`) end in a hash, never in `Url`.
_URL_OUTPUT = re.compile(rf"^((?:[A-Z][a-z0-9]*)+){OUTPUT_URL}$")
# A private ECR image: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@sha256:...]
_ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,299}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def stack_name(environment: str) -> str:
    """`dev` -> `DevStack`, as graviton.constants names it."""
    return f"{environment.capitalize()}Stack"


@dataclass(frozen=True)
class Target:
    """One service endpoint to check."""

    service: str
    url: str


def _quiet(line: str) -> None:
    """No progress: the URL-only run is a handful of requests."""


@dataclass(frozen=True)
class Plan:
    """What to verify, and how patiently."""

    environment: str
    targets: tuple[Target, ...]
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    progress: Callable[[str], None] = field(default=_quiet, compare=False, repr=False)


@dataclass(frozen=True)
class Row:
    """One verdict: what a check expected of a resource (or a service's endpoint) and what it found."""

    check: str
    resource: str
    expected: str
    found: str
    verdict: str
    detail: str = ""


class CannotCheck(Exception):
    """A resource gave nothing to compare; the message is one line."""


class UsageError(Exception):
    """A bad command-line argument; the message is one line."""


class Fatal(Exception):
    """What stops the AWS checks before any row (no boto3, credentials, region or stack); one line, exit 2."""


Check = Callable[[Plan], list[Row]]


# GET /arch --------------------------------------------------------------------------------------------------------


def fetch_machine(url: str, *, plan: Plan) -> str:
    """`GET <url>/arch` and return its `machine`, waiting out a freshly deployed endpoint; else CannotCheck."""
    arch_url = url.rstrip("/") + ARCH_PATH
    request = urllib.request.Request(arch_url, headers={"Accept": "application/json", "User-Agent": "graviton-verify"})
    last_error = ""
    for attempt in range(1, plan.attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=plan.timeout_seconds) as response:
                return _machine_of(response.read(MAX_BODY_BYTES), arch_url)
        except urllib.error.HTTPError as err:
            last_error = f"HTTP {err.code}"
            if err.code not in RETRY_STATUSES:
                raise CannotCheck(f"{arch_url} answered {last_error}") from None
        except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, TLS, timeout, bad status line
            reason = getattr(err, "reason", err)
            last_error = f"unreachable ({str(reason) or type(reason).__name__})"
        if attempt < plan.attempts:
            plan.sleep(plan.backoff_seconds * 2 ** (attempt - 1))
    raise CannotCheck(f"{arch_url}: {last_error} after {plan.attempts} attempt(s)")


def _machine_of(body: bytes, url: str) -> str:
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CannotCheck(f"{url} did not answer JSON: {body[:60]!r}") from None
    machine = answer.get("machine") if isinstance(answer, dict) else None
    if not isinstance(machine, str) or not machine:
        raise CannotCheck(f'{url} answered JSON without a "machine" string: {json.dumps(answer)[:60]}')
    return machine


def http_arch_check(plan: Plan) -> list[Row]:
    """Each service's own view of its CPU: what `platform.machine()` says inside the running container."""
    rows = []
    for target in plan.targets:
        plan.progress(f"GET {target.url.rstrip('/')}{ARCH_PATH}")
        try:
            machine = fetch_machine(target.url, plan=plan)
        except CannotCheck as err:
            rows.append(Row(CHECK_ARCH, target.service, EXPECTED_MACHINE, "-", CANNOT_CHECK, str(err)))
            continue
        verdict = OK if machine == EXPECTED_MACHINE else WRONG
        rows.append(Row(CHECK_ARCH, target.service, EXPECTED_MACHINE, machine, verdict, target.url))
    return rows


CHECKS: tuple[Check, ...] = (http_arch_check,)


# The environment in AWS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """A private ECR image as a workload or an output names it: by tag, by digest, or both."""

    registry: str
    region: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ImageRef | None:
        """None for anything but a private ECR image (public.ecr.aws, Docker Hub, ...)."""
        match = _ECR_IMAGE.match(uri.strip())
        return cls(**match.groupdict()) if match else None

    @property
    def repo(self) -> Repo:
        return Repo(self.registry, self.region, self.repository)

    def label(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def matches(self, digest: str, tags: Iterable[str]) -> bool:
        return self.digest == digest or (self.tag is not None and self.tag in tags)


@dataclass(frozen=True)
class Repo:
    """One ECR repository: its registry (account), region and name."""

    registry: str
    region: str
    name: str


@dataclass
class Aws:
    """The environment as deployed: its stack's outputs and resources, and clients in its account."""

    environment: str
    stack: str
    account: str
    region: str
    status: str
    outputs: dict[str, str]
    resources: dict[str, list[str]]
    session: Any
    config: Any
    progress: Callable[[str], None]
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    # Images the workloads run -> who runs them; filled by the Lambda and ECS checks, read by the image check.
    references: dict[ImageRef, list[str]] = field(default_factory=dict)
    foreign: dict[str, list[str]] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region; creating clients is not thread-safe, using them is."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(service, region_name=key[1], config=self.config)
            return self._clients[key]

    def physical_ids(self, resource_type: str) -> list[str]:
        return self.resources.get(resource_type, [])

    def outputs_ending(self, suffix: str) -> dict[str, str]:
        return {key: value for key, value in self.outputs.items() if key.endswith(suffix) and value}

    def refer(self, uri: str, who: str, *, resolved: str | None = None) -> None:
        """Record that `who` runs `uri` (`resolved`: the same image by digest, as Lambda reports it)."""
        ref = ImageRef.parse(uri)
        if ref is None:
            self.foreign.setdefault(uri, []).append(who)
            return
        pinned = ImageRef.parse(resolved) if resolved else None
        if pinned and pinned.repo == ref.repo and not ref.digest:
            ref = replace(ref, digest=pinned.digest)
        self.references.setdefault(ref, []).append(who)


def environment_settings(root: Path, environment: str) -> dict[str, Any]:
    """`environments.<env>` of cdk.json, read with the standard library: graviton.config needs aws-cdk-lib, which
    the pipeline's verify step does not install."""
    path = root / "cdk.json"
    try:
        environments = json.loads(path.read_text()).get("context", {}).get("environments", {})
    except (OSError, json.JSONDecodeError, AttributeError) as err:
        raise Fatal(f"cannot read the environments in {path} ({type(err).__name__})") from None
    if environment not in environments:
        raise Fatal(f"environment '{environment}' is not configured in cdk.json; configured: {', '.join(environments)}")
    return environments[environment] or {}


def aws_error(err: Exception) -> str:
    """One line for a botocore error."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        operation = getattr(err, "operation_name", "?")
        text = f"AWS refused {operation}: {error.get('Code', '?')}: {error.get('Message', '')}"
    else:
        text = f"AWS call failed: {err}"
    return " ".join(text.split())


def connect(environment: str, *, stack: str, region: str | None, root: Path, progress: Callable[[str], None]) -> Aws:
    """The deployed stack's outputs and resources, read with the caller's credentials; Fatal when it cannot be."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        raise Fatal(
            "the AWS checks need boto3: run make setup (or pip install boto3), or check endpoints only with"
            " --no-aws --url SERVICE=URL"
        ) from None
    settings = environment_settings(root, environment)
    session = boto3.Session(region_name=region or settings.get("region"))
    if not session.region_name:
        raise Fatal(
            f"no AWS region: environment '{environment}' sets no 'region' in cdk.json and neither --region,"
            " AWS_REGION, AWS_DEFAULT_REGION nor the profile names one"
        )
    # Connection errors, 5xx and throttling are botocore's to retry.
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30)
    try:
        account = session.client("sts", config=config).get_caller_identity()["Account"]
    except NoCredentialsError:
        raise Fatal(
            "no AWS credentials found; set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), run aws sso"
            " login, or check endpoints only with --no-aws --url SERVICE=URL"
        ) from None
    except (BotoCoreError, ClientError) as err:
        raise Fatal(aws_error(err)) from None
    if settings.get("account") and settings["account"] != account:
        raise Fatal(
            f"environment '{environment}' is account {settings['account']} (cdk.json) but the credentials are for"
            f" account {account}; use credentials for {settings['account']}"
        )
    cloudformation = session.client("cloudformation", config=config)
    try:
        [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        summaries = [
            summary
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
            for summary in page["StackResourceSummaries"]
        ]
    except ClientError as err:
        if "does not exist" in err.response.get("Error", {}).get("Message", ""):
            raise Fatal(
                f"stack {stack} is not deployed in account {account}, {session.region_name};"
                f" run make deploy ENV={environment} first"
            ) from None
        raise Fatal(aws_error(err)) from None
    except BotoCoreError as err:
        raise Fatal(aws_error(err)) from None
    resources: dict[str, list[str]] = {}
    for summary in summaries:
        # A replaced resource is listed as deleted until the stack's cleanup: it runs nothing.
        if summary.get("PhysicalResourceId") and not summary.get("ResourceStatus", "").startswith("DELETE_"):
            resources.setdefault(summary["ResourceType"], []).append(summary["PhysicalResourceId"])
    outputs = {output["OutputKey"]: output.get("OutputValue", "") for output in found.get("Outputs", [])}
    progress(
        f"stack {stack} ({found['StackStatus']}) in account {account}, {session.region_name}:"
        f" {len(summaries)} resources, {len(outputs)} outputs"
    )
    return Aws(
        environment=environment,
        stack=stack,
        account=account,
        region=session.region_name,
        status=found["StackStatus"],
        outputs=outputs,
        resources=resources,
        session=session,
        config=config,
        progress=progress,
    )


def _client_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def lambda_rows(aws: Aws) -> list[Row]:
    """Every function of the stack: `Architectures` must be exactly ["arm64"] (Lambda's default is x86_64)."""
    names = aws.physical_ids("AWS::Lambda::Function")
    aws.progress(f"{len(names)} Lambda function(s)")
    client = aws.client("lambda")
    rows = []
    for name in names:
        try:
            function = client.get_function(FunctionName=name)
        except _client_errors() as err:
            rows.append(Row(CHECK_LAMBDA, name, EXPECTED_LAMBDA[0], "-", CANNOT_CHECK, aws_error(err)))
            continue
        architectures = function["Configuration"].get("Architectures") or ["x86_64"]
        found = ",".join(architectures)
        code = function.get("Code", {})
        if code.get("ImageUri"):
            aws.refer(code["ImageUri"], f"{CHECK_LAMBDA} {name}", resolved=code.get("ResolvedImageUri"))
        ok = architectures == EXPECTED_LAMBDA
        rows.append(Row(CHECK_LAMBDA, name, EXPECTED_LAMBDA[0], found, OK if ok else WRONG, "" if ok else _fix(found)))
    return rows


def _fix(found: str) -> str:
    return f"runs on {found}; deploy it with architecture=lambda_.Architecture.ARM_64"


def task_rows(aws: Aws) -> list[Row]:
    """Every task definition of the stack: `runtimePlatform.cpuArchitecture` must be ARM64 (unset is X86_64)."""
    arns = aws.physical_ids("AWS::ECS::TaskDefinition")
    aws.progress(f"{len(arns)} ECS task definition(s)")
    client = aws.client("ecs")
    rows = []
    for arn in arns:
        name = arn.rpartition("/")[2] or arn  # family:revision
        try:
            definition = client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        except _client_errors() as err:
            rows.append(Row(CHECK_TASK, name, EXPECTED_CPU, "-", CANNOT_CHECK, aws_error(err)))
            continue
        for container in definition.get("containerDefinitions", []):
            if container.get("image"):
                aws.refer(container["image"], f"{CHECK_TASK} {name} ({container.get('name', '?')})")
        cpu = (definition.get("runtimePlatform") or {}).get("cpuArchitecture")
        found = cpu or "unset (X86_64)"
        ok = cpu == EXPECTED_CPU
        why = "" if ok else f"runs on {found}; set RuntimePlatform(cpu_architecture=CpuArchitecture.ARM64)"
        rows.append(Row(CHECK_TASK, name, EXPECTED_CPU, found, OK if ok else WRONG, why))
    return rows


def build_rows(aws: Aws) -> list[Row]:
    """Every CodeBuild project of the stack (and those its outputs name): an ARM environment type."""
    names = list(
        dict.fromkeys(
            [
                *aws.physical_ids("AWS::CodeBuild::Project"),
                *aws.outputs_ending(OUTPUT_BUILD_PROJECT).values(),
                *aws.outputs_ending(OUTPUT_EKS_APPLY_PROJECT).values(),
            ]
        )
    )
    aws.progress(f"{len(names)} CodeBuild project(s)")
    client = aws.client("codebuild")
    expected = "|".join(ARM_BUILD_TYPES)
    rows = []
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        try:
            answer = client.batch_get_projects(names=chunk)
        except _client_errors() as err:
            rows += [Row(CHECK_BUILD, name, expected, "-", CANNOT_CHECK, aws_error(err)) for name in chunk]
            continue
        projects = {project["name"]: project for project in answer.get("projects", [])}
        for name in chunk:
            project = projects.get(name) or projects.get(name.rpartition("/")[2])
            if project is None:
                rows.append(Row(CHECK_BUILD, name, expected, "-", CANNOT_CHECK, "CodeBuild does not know this project"))
                continue
            kind = project.get("environment", {}).get("type", "?")
            ok = kind in ARM_BUILD_TYPES
            why = "" if ok else f"builds on {kind}; use LinuxArmBuildImage (ARM_CONTAINER)"
            rows.append(Row(CHECK_BUILD, name, expected, kind, OK if ok else WRONG, why))
    return rows


def node_rows(aws: Aws) -> list[Row]:
    """Every running instance of the environment's EKS clusters (tag `eks:cluster-name`): `Architecture` arm64."""
    clusters = list(
        dict.fromkeys([*aws.physical_ids("AWS::EKS::Cluster"), *aws.outputs_ending(OUTPUT_EKS_CLUSTER).values()])
    )
    # A node group's physical id is `<cluster>/<nodegroup>`.
    nodegroups = [ng.partition("/")[2] or ng for ng in aws.physical_ids("AWS::EKS::Nodegroup")]
    if not clusters:
        return []
    client = aws.client("ec2")
    rows = []
    seen_nodegroups: set[str] = set()
    for cluster in clusters:
        filters = [
            {"Name": "tag:eks:cluster-name", "Values": [cluster]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
        try:
            instances = [
                instance
                for page in client.get_paginator("describe_instances").paginate(Filters=filters)
                for reservation in page["Reservations"]
                for instance in reservation["Instances"]
            ]
        except _client_errors() as err:
            rows.append(Row(CHECK_NODE, cluster, EXPECTED_NODE, "-", CANNOT_CHECK, aws_error(err)))
            continue
        aws.progress(f"EKS {cluster}: {len(instances)} node(s)")
        for instance in instances:
            tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
            nodegroup = tags.get("eks:nodegroup-name", "?")
            seen_nodegroups.add(nodegroup)
            resource = f"{instance['InstanceId']} ({nodegroup}, {instance.get('InstanceType', '?')})"
            found = instance.get("Architecture", "?")
            ok = found == EXPECTED_NODE
            why = "" if ok else f"a {found} node in cluster {cluster}; node groups need Graviton types and an ARM AMI"
            rows.append(Row(CHECK_NODE, resource, EXPECTED_NODE, found, OK if ok else WRONG, why))
    for nodegroup in nodegroups:
        if nodegroup not in seen_nodegroups:
            why = "the stack's node group has no running instance to look at"
            rows.append(Row(CHECK_NODE, nodegroup, EXPECTED_NODE, "-", CANNOT_CHECK, why))
    return rows


@cache
def image_manifest() -> ModuleType:
    """`image_manifest.py`, loaded from its file: the gatekeeper's Lambda imports it as a top-level module, and the
    pipeline runs this file outside any package."""
    spec = importlib.util.spec_from_file_location("graviton_verify_image_manifest", IMAGE_MANIFEST_FILE)
    assert spec is not None and spec.loader is not None, IMAGE_MANIFEST_FILE
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def fetch_config(ecr: Any, repo: Repo, digest: str, *, timeout: float) -> Any:
    """An image's config blob: ECR's presigned URL for it, one GET, its sha256 checked against `digest`."""
    try:
        answer = ecr.get_download_url_for_layer(registryId=repo.registry, repositoryName=repo.name, layerDigest=digest)
    except _client_errors() as err:
        raise CannotCheck(f"config {digest}: {aws_error(err)}") from None
    try:
        with urllib.request.urlopen(answer["downloadUrl"], timeout=timeout) as response:
            body = response.read(MAX_CONFIG_BYTES + 1)
    except (OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise CannotCheck(f"config {digest}: download failed ({str(reason) or type(reason).__name__})") from None
    if len(body) > MAX_CONFIG_BYTES:
        raise CannotCheck(f"config {digest}: larger than {MAX_CONFIG_BYTES} bytes, not an image config")
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise CannotCheck(f"config {digest}: the downloaded blob does not match its digest")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CannotCheck(f"config {digest}: not JSON") from None


def image_rows(aws: Aws) -> list[Row]:
    """Every image in every repository the stack names or its workloads run: one linux/arm64 image each."""
    repos: dict[Repo, None] = {}
    for name in aws.physical_ids("AWS::ECR::Repository"):
        repos[Repo(aws.account, aws.region, name)] = None
    for value in aws.outputs_ending(OUTPUT_REPOSITORY_URI).values():
        ref = ImageRef.parse(value)
        if ref:
            repos[ref.repo] = None
    for key, value in aws.outputs_ending(OUTPUT_IMAGE_URI).items():
        aws.refer(value, f"output {key}")
    for ref in aws.references:
        repos[ref.repo] = None
    rows = [
        Row(CHECK_IMAGE, uri, EXPECTED_IMAGE, "-", CANNOT_CHECK, f"not a private ECR image; run by {', '.join(who)}")
        for uri, who in aws.foreign.items()
    ]
    for repo in repos:
        rows += repository_rows(aws, repo)
    return rows


def repository_rows(aws: Aws, repo: Repo) -> list[Row]:
    """Each active image of one repository (what can be pulled), newest first, then the images workloads run that
    it does not hold."""
    ecr = aws.client("ecr", repo.region)
    ids = {"registryId": repo.registry, "repositoryName": repo.name}
    try:
        details = [
            detail
            for page in ecr.get_paginator("describe_images").paginate(**ids)
            for detail in page.get("imageDetails", [])
        ]
    except _client_errors() as err:
        return [Row(CHECK_IMAGE, repo.name, EXPECTED_IMAGE, "-", CANNOT_CHECK, aws_error(err))]
    details.sort(key=lambda d: str(d.get("imagePushedAt", "")), reverse=True)
    aws.progress(f"ECR {repo.name}: {len(details)} image(s)")
    manifests: dict[str, tuple[str, str | None]] = {}
    failures: dict[str, str] = {}
    for start in range(0, len(details), BATCH):
        chunk = [{"imageDigest": d["imageDigest"]} for d in details[start : start + BATCH]]
        try:
            answer = ecr.batch_get_image(
                **ids, imageIds=chunk, acceptedMediaTypes=image_manifest().ACCEPTED_MEDIA_TYPES
            )
        except _client_errors() as err:
            failures.update({image["imageDigest"]: aws_error(err) for image in chunk})
            continue
        for image in answer.get("images", []):
            manifests[image["imageId"]["imageDigest"]] = (image["imageManifest"], image.get("imageManifestMediaType"))
        for failure in answer.get("failures", []):
            digest = failure.get("imageId", {}).get("imageDigest")
            if digest:
                failures[digest] = f"BatchGetImage: {failure.get('failureCode')}: {failure.get('failureReason')}"
    references = {ref: who for ref, who in aws.references.items() if ref.repo == repo}

    def judge(detail: Mapping[str, Any]) -> Row:
        digest = detail["imageDigest"]
        tags = sorted(detail.get("imageTags", []))
        # An untagged image by its short digest, as `docker images` shows ids: the detail holds the full one.
        resource = f"{repo.name}:{tags[0]}" if tags else f"{repo.name}@{digest[:19]}"
        runners = [who for ref, whos in references.items() if ref.matches(digest, tags) for who in whos]
        context = [f"run by {', '.join(runners)}"] if runners else []
        context.append(digest if tags else f"untagged {digest}")
        if digest not in manifests:
            reason = failures.get(digest, "BatchGetImage returned no manifest")
            return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, "-", CANNOT_CHECK, "; ".join([reason, *context]))
        text, media_type = manifests[digest]
        try:
            verdict = image_manifest().inspect(
                text,
                media_type or detail.get("imageManifestMediaType"),
                lambda config: fetch_config(ecr, repo, config, timeout=aws.timeout_seconds),
            )
        except CannotCheck as err:
            return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, "-", CANNOT_CHECK, "; ".join([str(err), *context]))
        why = [verdict.reason] if verdict.reason else []
        return Row(
            CHECK_IMAGE, resource, EXPECTED_IMAGE, verdict.found, OK if verdict.ok else WRONG, "; ".join(why + context)
        )

    with ThreadPoolExecutor(max_workers=IMAGE_WORKERS) as pool:
        rows = list(pool.map(judge, details))
    for ref, who in references.items():
        if not any(ref.matches(d["imageDigest"], d.get("imageTags", [])) for d in details):
            why = f"run by {', '.join(who)} but not among the repository's active images (expired, deleted, archived?)"
            rows.append(Row(CHECK_IMAGE, ref.label(), EXPECTED_IMAGE, "-", CANNOT_CHECK, why))
    return rows


# Workloads first (they name the images they run), then the images, then what the services say of themselves.
AWS_CHECKS: tuple[tuple[str, Callable[[Aws], list[Row]]], ...] = (
    (CHECK_LAMBDA, lambda_rows),
    (CHECK_TASK, task_rows),
    (CHECK_BUILD, build_rows),
    (CHECK_NODE, node_rows),
    (CHECK_IMAGE, image_rows),
)


def aws_checks(aws: Aws) -> list[Check]:
    """The AWS checks as plan checks; an AWS error a check did not expect becomes one row, not a traceback."""

    def guarded(name: str, check: Callable[[Aws], list[Row]]) -> Check:
        def run(plan: Plan) -> list[Row]:
            try:
                return check(aws)
            except _client_errors() as err:
                return [Row(name, aws.stack, "-", "-", CANNOT_CHECK, aws_error(err))]

        return run

    return [guarded(name, check) for name, check in AWS_CHECKS]


def url_targets(outputs: Mapping[str, str]) -> dict[str, str]:
    """`WebApiUrl` -> {"web-api": its value}: the services' endpoints among the stack's outputs."""
    targets = {}
    for key, value in outputs.items():
        match = _URL_OUTPUT.match(key)
        if match and value:
            targets["-".join(part.lower() for part in re.findall(r"[A-Z][a-z0-9]*", match.group(1)))] = value
    return targets


# The run --------------------------------------------------------------------------------------------------------


def run_checks(plan: Plan, checks: Sequence[Check] = CHECKS) -> list[Row]:
    return [row for check in checks for row in check(plan)]


def exit_code(rows: Sequence[Row]) -> int:
    """Another machine is a definite failure and outranks a row that could not be checked."""
    if any(row.verdict == WRONG for row in rows):
        return EXIT_WRONG_MACHINE
    if not rows or any(row.verdict == CANNOT_CHECK for row in rows):
        return EXIT_CANNOT_CHECK
    return EXIT_OK


def render_table(title: str, rows: Sequence[Row]) -> str:
    """One block per check (its own header, aligned with the others), then why each failing row failed."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.check, []).append(row)
    headers = {check: (RESOURCE_HEADERS.get(check, check), "expected", "found", "verdict") for check in groups}
    cells = [(row.resource, row.expected, row.found, row.verdict) for row in rows]
    lines = [title]
    if not rows:
        return "\n".join([*lines, "nothing to check"])
    widths = [max(len(cell[i]) for cell in [*headers.values(), *cells]) for i in range(4)]

    def line(cell: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()

    for number, (check, group) in enumerate(groups.items()):
        if number:
            lines.append("")
        lines.append(line(headers[check]))
        lines += [line((row.resource, row.expected, row.found, row.verdict)) for row in group]
    problems = [row for row in rows if row.verdict != OK and row.detail]
    if problems:
        lines.append("")
        lines += [f"{row.verdict}: {_name(row)}: {row.detail}" for row in problems]
    return "\n".join(lines)


def _name(row: Row) -> str:
    """`web` for a service's endpoint, `Lambda function DevStack-Api...` for anything else."""
    return row.resource if row.check == CHECK_ARCH else f"{row.check} {row.resource}"


def summary_line(environment: str, rows: Sequence[Row]) -> str:
    """The one line a failed run ends with, naming what is not arm64 (or the first thing not checked)."""
    wrong = [row for row in rows if row.verdict == WRONG]
    if wrong:
        names = ", ".join(f"{_name(row)} ({row.found})" for row in wrong[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        expected = {row.expected for row in wrong}
        tail = f"; expected {expected.pop()}" if len(expected) == 1 else ""
        return f"{PROG}: {environment}: not on Graviton: {names}{more}{tail}"
    unchecked = [row for row in rows if row.verdict == CANNOT_CHECK]
    if unchecked:
        more = f" (and {len(unchecked) - 1} more)" if len(unchecked) > 1 else ""
        return f"{PROG}: {environment}: cannot check {_name(unchecked[0])}: {unchecked[0].detail}{more}"
    if not rows:
        return f"{PROG}: {environment}: nothing to check"
    return f"{PROG}: {environment}: every resource runs on arm64"


@dataclass(frozen=True)
class Options:
    """The parsed command line."""

    plan: Plan
    as_json: bool
    aws: bool
    stack: str
    region: str | None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> Options:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="the environment being verified (dev, test, prod)")
    parser.add_argument(
        "--url", action="append", default=[], metavar="SERVICE=URL", help="a service's endpoint; repeatable"
    )
    parser.add_argument("--no-aws", action="store_true", help="only GET /arch on the --url endpoints, no credentials")
    parser.add_argument("--stack", help="the stack to read (default: <Env>Stack)")
    parser.add_argument("--region", help="default: cdk.json's region for the environment, else AWS_REGION/profile")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS, help="tries per endpoint (default 5)")
    parser.add_argument(
        "--backoff", type=float, default=DEFAULT_BACKOFF_SECONDS, help="first wait between tries, doubled each time"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")
    args = parser.parse_args(argv)
    if args.no_aws and not args.url:
        raise UsageError("give at least one --url SERVICE=URL: --no-aws checks only the endpoints you name")
    if args.no_aws and (args.stack or args.region):
        raise UsageError("--stack and --region are for the AWS checks; drop them or --no-aws")
    if args.attempts < 1 or args.backoff < 0 or args.timeout <= 0:
        raise UsageError("--attempts must be at least 1, --backoff at least 0 and --timeout above 0")
    targets = tuple(_target(value) for value in args.url)
    services = [t.service for t in targets]
    repeated = sorted({s for s in services if services.count(s) > 1})
    if repeated:
        raise UsageError(f"service '{repeated[0]}' is given more than once")
    plan = Plan(args.env, targets, args.attempts, args.backoff, args.timeout)
    return Options(plan, args.json, not args.no_aws, args.stack or stack_name(args.env), args.region)


def _target(value: str) -> Target:
    service, separator, url = value.partition("=")
    if not separator or not service.strip():
        raise UsageError(f"--url {value!r} must be SERVICE=URL, for example api=https://abc.execute-api.aws/")
    if not url.strip():
        raise UsageError(f"--url {value!r} has no URL (is the stack output set?)")
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise UsageError(f"--url {value!r}: the URL must start with http:// or https:// and name a host")
    return Target(service.strip(), url.strip())


def _output_targets(aws: Aws, given: Sequence[Target]) -> tuple[tuple[Target, ...], list[Row]]:
    """The stack's `<Service>Url` outputs, each replaced by a --url for the same service; a bad output is a row."""
    urls = {**url_targets(aws.outputs), **{target.service: target.url for target in given}}
    targets, rows = [], []
    for service, url in urls.items():
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme in {"http", "https"} and parsed.netloc:
            targets.append(Target(service, url))
        else:
            why = f"the stack's URL {url!r} is not http(s)"
            rows.append(Row(CHECK_ARCH, service, EXPECTED_MACHINE, "-", CANNOT_CHECK, why))
    return tuple(targets), rows


def _stderr_progress(environment: str) -> Callable[[str], None]:
    def progress(line: str) -> None:
        print(f"{PROG}: {environment}: {line}", file=sys.stderr, flush=True)

    return progress


def main(argv: Sequence[str] | None = None, *, checks: Sequence[Check] = CHECKS, root: Path = ROOT) -> int:
    """`checks` are what `--no-aws` runs (tests add their own); `root` holds cdk.json."""
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    environment = options.plan.environment
    report: dict[str, Any] = {"environment": environment, "aws": options.aws}
    try:
        if options.aws:
            progress = _stderr_progress(environment)
            aws = connect(environment, stack=options.stack, region=options.region, root=root, progress=progress)
            targets, rows = _output_targets(aws, options.plan.targets)
            plan = replace(options.plan, targets=targets, progress=progress)
            aws.timeout_seconds = plan.timeout_seconds
            rows = run_checks(plan, [*aws_checks(aws), http_arch_check]) + rows
            title = f"arm64 verification: {environment} (stack {aws.stack}, account {aws.account}, {aws.region})"
            report.update(stack=aws.stack, account=aws.account, region=aws.region)
        else:
            rows = run_checks(options.plan, checks)
            title = f"arm64 verification: {environment}"
    except Fatal as err:
        print(f"{PROG}: {environment}: {err}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except KeyboardInterrupt:
        print(f"{PROG}: {environment}: interrupted", file=sys.stderr)
        return 130
    code = exit_code(rows)
    if options.as_json:
        report.update(exit_code=code, rows=[asdict(row) for row in rows])
        print(json.dumps(report, indent=2))
    else:
        print(render_table(title, rows))
    if code != EXIT_OK:
        print(summary_line(environment, rows), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
