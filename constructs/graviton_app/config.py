"""The app's settings from cdk.json context, validated before any construct is built.

Every error is one line that names the key, the bad value and what is allowed (`ConfigError`). Standard library
and pydantic only, so every command can load the settings without aws-cdk-lib.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from graviton import constants as defaults
from graviton.constants import FARGATE_MEMORY, LOG_RETENTION_DAYS, PLATFORM, PLATFORM_ARGS
from graviton.guardrails.instance_types import is_graviton
from graviton.workloads.container_settings import (
    PORT_RANGE,
    PYTHON_HEALTH_CHECK,
    check_health_check,
    check_health_path,
    check_port,
    check_user,
)
from graviton_app import limits, naming
from graviton_app.context import OWN_KEY  # CDK's own keys are left alone
from graviton_app.messages import name as shown_name
from graviton_app.messages import shown

DOCKER_ROOT = naming.DOCKER_ROOT
EnvironmentName = Literal["dev", "test", "prod"]
ServiceTarget = Literal["lambda", "ecs", "eks"]

# A '-' only between two letters or digits: ECR repository names allow no '--' and no trailing '-'.
_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,29}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_EKS_VERSION = re.compile(r"^1\.\d{2}$")
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[\w-]+$"
)
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")
_BRANCH = re.compile(r"^[\w./-]+$")
# A path prefix: segments of lower-case letters, digits, '.', '_' and '-' (no wildcards: ALB path patterns take '*'
# and '?' as wildcards).
_ROUTE_PATH = re.compile(r"^(/[a-z0-9][a-z0-9._-]*)+$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[\w-]+$")
_HOSTED_ZONE = re.compile(r"^Z[A-Z0-9]{1,31}$")


@dataclass(frozen=True)
class Allowed:
    """What a setting accepts, in words, for the generated configuration reference (pydantic ignores it)."""

    text: str


class ConfigError(ValueError):
    """A cdk.json (or `-c`) value that is not allowed; the message is one line."""


class _RefusedAt(ValueError):
    """A value refused by a check across settings blocks, where pydantic's location is the whole block: it carries
    the key it refuses (`('services', 1, 'ecs_memory_mb')`) and that key's value."""

    def __init__(self, loc: tuple[int | str, ...], value: Any, reason: str) -> None:
        super().__init__(reason)
        self.loc = loc
        self.value = value


# The only partition Powertools publishes its layer (and the SSM parameter naming it) in; the image-build and
# registry gatekeeper handlers run on that layer.
SUPPORTED_PARTITION = "aws"


@cache
def known_regions() -> dict[str, str]:
    """Region -> partition, for every partition botocore knows (read from its data file, without importing
    botocore), so the list moves with the pinned boto3."""
    spec = importlib.util.find_spec("botocore")
    assert spec is not None and spec.submodule_search_locations, "botocore is installed with boto3"
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "partitions.json"
    partitions = json.loads(data.read_text())["partitions"]
    return {name: p["id"] for p in partitions for name in p.get("regions", {}) if not name.endswith("-global")}


def _matching(pattern: re.Pattern[str], message: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value

    return check


def _region(value: str) -> str:
    partition = known_regions().get(value)
    if partition is None:
        raise ValueError("must be an AWS region such as 'us-east-1' or 'eu-west-1'")
    if partition != SUPPORTED_PARTITION:
        raise ValueError(
            f"is in the '{partition}' partition; allowed: a region of the '{SUPPORTED_PARTITION}' partition, the only"
            " one with the Powertools Lambda layer the image-build and gatekeeper handlers run on"
        )
    return value


def _each(check: Callable[[str], bool], message: str) -> Callable[[list[str]], list[str]]:
    """A list whose every item passes `check`; `message` names the first that does not (`{}`)."""

    def validate(values: list[str]) -> list[str]:
        for value in values:
            if not check(value):
                raise ValueError(message.format(shown_name(value)))
        return values

    return validate


def _one_of(allowed: Sequence[int], message: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value not in allowed:
            raise ValueError(f"{message}: {', '.join(map(str, allowed))}")
        return value

    return check


def _json_string(value: Any) -> Any:
    """`cdk synth -c services='[...]'` passes a string: read it as JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"must be JSON ({err.msg})") from None
    return value


def _name_list(value: Any) -> Any:
    """`-c eks=dev,prod` passes a string: a comma-separated list (or JSON)."""
    if isinstance(value, str):
        if value.strip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as err:
                raise ValueError(f"must be JSON ({err.msg}) or names separated by commas") from None
        return [name.strip() for name in value.split(",") if name.strip()]
    return value


# The settings' value types, each with the one line it refuses a value with.
AccountId = Annotated[
    StrictStr,
    AfterValidator(_matching(_ACCOUNT, "must be a 12-digit AWS account id, for example '123456789012'")),
    Allowed("a 12-digit account id"),
]
Region = Annotated[
    StrictStr,
    AfterValidator(_region),
    Allowed(f"an AWS region of the '{SUPPORTED_PARTITION}' partition (botocore's list)"),
]
ResourceName = Annotated[
    StrictStr,
    AfterValidator(
        _matching(
            _NAME, "must be lower-case letters and digits, single '-' between them, starting with a letter, 30 at most"
        )
    ),
    Allowed("lower-case letters and digits, single '-' between them, starting with a letter, 30 at most"),
]
Email = Annotated[
    StrictStr,
    AfterValidator(_matching(_EMAIL, "must be an email address such as 'team@example.com'")),
    Allowed("an email address"),
]
RetentionDays = Annotated[
    StrictInt,
    AfterValidator(_one_of(LOG_RETENTION_DAYS, "must be one of CloudWatch's retention periods")),
    Allowed(", ".join(map(str, LOG_RETENTION_DAYS))),
]
FargateCpu = Annotated[
    StrictInt,
    AfterValidator(_one_of(tuple(FARGATE_MEMORY), "must be a Fargate size")),
    Allowed(", ".join(map(str, FARGATE_MEMORY))),
]
GravitonInstanceTypes = Annotated[
    list[StrictStr],
    AfterValidator(_each(is_graviton, "'{}' is not a Graviton instance type (t4g, m7g, c7g, r7g, ...)")),
    Allowed("Graviton instance types (t4g, m7g, c7g, r7g, ...)"),
]
EksVersion = Annotated[
    StrictStr,
    AfterValidator(_matching(_EKS_VERSION, "must be a Kubernetes minor version such as '1.34'")),
    Allowed("a Kubernetes minor version such as '1.34'"),
]
RoleArns = Annotated[
    list[StrictStr],
    AfterValidator(
        _each(
            lambda arn: bool(_ROLE_ARN.match(arn)), "'{}' is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
        )
    ),
    Allowed("IAM role ARNs"),
]
ConnectionArn = Annotated[
    StrictStr,
    AfterValidator(
        _matching(
            _CONNECTION_ARN,
            "must be a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)",
        )
    ),
    Allowed("a CodeConnections ARN"),
]
RepositoryPath = Annotated[
    StrictStr,
    AfterValidator(_matching(_REPOSITORY, "must be 'owner/name', for example 'acme/graviton-guarantee'")),
    Allowed("owner/name"),
]
Branch = Annotated[
    StrictStr, AfterValidator(_matching(_BRANCH, "must be a branch name such as 'main'")), Allowed("a branch name")
]
NameList = BeforeValidator(_name_list)


def _route_path(value: str) -> str:
    if value == "/" or not _ROUTE_PATH.match(value):
        raise ValueError(
            "must be a path prefix such as '/web': '/' then segments of lower-case letters, digits, '.', '_', '-'"
        )
    if len(value) > limits.ROUTE_PATH_CHARS:
        raise ValueError(
            f"is {len(value)} characters; allowed: at most {limits.ROUTE_PATH_CHARS}, so '<path>/*' fits a load"
            f" balancer path pattern ({limits.ALB_PATH_PATTERN_CHARS.said})"
        )
    return value


RoutePath = Annotated[
    StrictStr,
    AfterValidator(_route_path),
    Allowed(f"a path prefix such as `/web`, {limits.ROUTE_PATH_CHARS} characters at most"),
]
HostLabel = Annotated[
    StrictStr,
    AfterValidator(
        _matching(_HOST_LABEL, "must be one DNS label such as 'web' (lower-case letters, digits, '-'; 63 at most)")
    ),
    Allowed("one DNS label such as `web`: the service answers at `web.<domain_name>`"),
]
DomainName = Annotated[
    StrictStr,
    AfterValidator(_matching(_DOMAIN, "must be a lower-case DNS name such as 'example.com'")),
    Allowed("a lower-case DNS name such as `example.com`"),
]
CertificateArn = Annotated[
    StrictStr,
    AfterValidator(
        _matching(_CERTIFICATE_ARN, "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
    ),
    Allowed("an ACM certificate ARN"),
]
HostedZoneId = Annotated[
    StrictStr,
    AfterValidator(_matching(_HOSTED_ZONE, "must be a Route 53 hosted zone id such as 'Z0123456789ABCDEFGHIJ'")),
    Allowed("a Route 53 hosted zone id"),
]


def _health_check_setting(value: Any) -> Any:
    """`"none"` or null: no check; `"python"`; or a command list (checked whole, so the line says what is allowed)."""
    if value is None or value == "none":
        return None
    if value == PYTHON_HEALTH_CHECK:
        return value
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        check_health_check([])  # raises with what is allowed
    return check_health_check(value)


ContainerPort = Annotated[StrictInt, AfterValidator(check_port), Allowed(f"{PORT_RANGE[0]} to {PORT_RANGE[1]}")]
HealthPath = Annotated[StrictStr, AfterValidator(check_health_path), Allowed("a URL path starting with '/'")]
HealthCheckCommand = Annotated[
    list[StrictStr] | Literal["python"] | None,
    BeforeValidator(_health_check_setting),
    Allowed('`"python"`, `"none"` (or null), or a command list starting with `"CMD"` or `"CMD-SHELL"`'),
]
ContainerUser = Annotated[StrictStr, AfterValidator(check_user), Allowed("numeric `uid:gid`, uid not 0")]


class _Settings(BaseModel):
    """Base for every settings block: unknown keys are refused, never silently ignored.

    `retired` names keys that were settings once, each with what replaced it: refused with that, not as unknown.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    retired: ClassVar[Mapping[str, str]] = {}


class UsageConfig(_Settings):
    """Monthly usage assumptions for `make cost`: what one environment does in a month."""

    lambda_gb_seconds: float = Field(0, ge=0, description="Lambda GB-seconds per month")
    lambda_requests: float = Field(0, ge=0, description="Lambda requests per month")
    fargate_vcpu_hours: float = Field(0, ge=0, description="Fargate vCPU-hours per month")
    fargate_gb_hours: float = Field(0, ge=0, description="Fargate GB-hours per month")
    eks_node_hours: float = Field(0, ge=0, description="EKS node-hours per month")
    codebuild_build_minutes: float = Field(0, ge=0, description="CodeBuild build minutes per month")


class EnvironmentConfig(_Settings):
    """One deployment environment (`dev`, `test` or `prod`)."""

    retired: ClassVar[Mapping[str, str]] = {
        "max_image_count": "no longer a setting: content-tagged images never expire, only untagged and candidate-*"
        " images do (docs/image-builds.md#what-expires); remove the key",
    }

    account: AccountId | None = Field(None, description="12-digit AWS account id; unset: account-agnostic")
    region: Region | None = Field(None, description="AWS region; required with account")
    lambda_memory_mb: StrictInt = Field(
        defaults.DEFAULT_LAMBDA_MEMORY_MB, ge=128, le=10240, description="memory of each Lambda, MB"
    )
    lambda_timeout_seconds: StrictInt = Field(
        defaults.DEFAULT_LAMBDA_TIMEOUT_SECONDS, ge=1, le=900, description="timeout of each Lambda"
    )
    image_build_timeout_minutes: StrictInt = Field(
        defaults.DEFAULT_BUILD_TIMEOUT_MINUTES,
        ge=defaults.BUILD_TIMEOUT_MINUTES[0],
        le=defaults.BUILD_TIMEOUT_MINUTES[1],
        description="longest wait for one image build",
    )
    lambda_reserved_concurrency: StrictInt | None = Field(
        None, ge=1, le=900, description="reserved concurrency per Lambda; the account keeps 100 unreserved"
    )
    log_retention_days: RetentionDays = Field(
        defaults.DEFAULT_LOG_RETENTION_DAYS, description="how long workload logs are kept"
    )
    alarm_email: Email | None = Field(None, description="who the alarm topic emails; unset: nobody")
    ecs_cpu: FargateCpu = Field(defaults.DEFAULT_FARGATE_CPU, description="vCPU units of each Fargate task")
    ecs_memory_mb: StrictInt = Field(defaults.DEFAULT_FARGATE_MEMORY_MB, description="memory of each Fargate task, MiB")
    ecs_min_tasks: StrictInt = Field(defaults.DEFAULT_MIN_TASKS, ge=1, le=100, description="fewest running tasks")
    ecs_max_tasks: StrictInt = Field(
        defaults.DEFAULT_MAX_TASKS, ge=1, le=100, description="most running tasks (CPU autoscaling)"
    )
    nat_gateways: StrictInt = Field(
        0, ge=0, le=2, description="0: tasks and nodes in public subnets, no NAT; 1-2: private subnets behind NAT"
    )
    eks_instance_types: GravitonInstanceTypes = Field(
        list(defaults.DEFAULT_EKS_INSTANCE_TYPES), min_length=1, description="Graviton node types"
    )
    eks_min_nodes: StrictInt = Field(
        defaults.DEFAULT_EKS_MIN_NODES, ge=1, le=100, description="fewest nodes (the desired count)"
    )
    eks_max_nodes: StrictInt = Field(defaults.DEFAULT_EKS_MAX_NODES, ge=1, le=100, description="most nodes")
    eks_version: EksVersion = Field(defaults.DEFAULT_EKS_VERSION, description="Kubernetes version of the cluster")
    eks_admin_role_arns: RoleArns = Field([], description="IAM roles given cluster-admin access entries")
    usage: UsageConfig = Field(default_factory=UsageConfig, description="monthly usage for make cost")
    images_from: EnvironmentName | None = Field(
        None, description="run the images this environment built (promotion) instead of building its own"
    )
    domain_name: DomainName | None = Field(
        None,
        description="the domain the load balancer answers HTTPS on (with certificate_arn); unset: a CloudFront"
        " distribution gives HTTPS on its own domain",
    )
    certificate_arn: CertificateArn | None = Field(
        None,
        description="ACM certificate for domain_name and `*.<domain_name>`, in the environment's region"
        " (with domain_name)",
    )
    hosted_zone_id: HostedZoneId | None = Field(
        None,
        description="the public Route 53 hosted zone of domain_name (with domain_name): alias A records for"
        " domain_name and `*.<domain_name>` point at the load balancer; unset: none are made",
    )
    adopt_repositories: StrictBool = Field(
        False,
        description="this deploy adopts the environment's retained repositories (`make deploy` imports them): their"
        " policies are left out of it, as an import does not rewrite a resource; the next deploy without it applies"
        " them",
    )
    alb_targets_quota: StrictInt = Field(
        limits.ALB_TARGETS.value,
        ge=1,
        description="the account's targets-per-load-balancer quota: the ECS services' ecs_max_tasks add up to at"
        " most this",
    )

    @model_validator(mode="after")
    def _combinations(self) -> EnvironmentConfig:
        if self.account and not self.region:
            raise ValueError("'region' is required when 'account' is set")
        if bool(self.domain_name) != bool(self.certificate_arn):
            raise ValueError(
                "'domain_name' and 'certificate_arn' go together: set both (HTTPS on the domain) or neither"
                " (HTTPS through CloudFront)"
            )
        if self.hosted_zone_id and not self.domain_name:
            raise ValueError(
                f"'hosted_zone_id' = \"{self.hosted_zone_id}\" needs 'domain_name' and 'certificate_arn': its records"
                " point the domain at the load balancer; set both, or remove hosted_zone_id"
            )
        certificate = _CERTIFICATE_ARN.match(self.certificate_arn or "")
        if certificate and self.region and certificate.group(1) != self.region:
            raise ValueError(
                f"certificate_arn is in {certificate.group(1)}; the load balancer takes a certificate of its own"
                f" region only ({self.region})"
            )
        if self.ecs_memory_mb not in FARGATE_MEMORY[self.ecs_cpu]:
            allowed = FARGATE_MEMORY[self.ecs_cpu]
            raise ValueError(
                f"ecs_memory_mb {self.ecs_memory_mb} does not fit ecs_cpu {self.ecs_cpu}; allowed: {allowed[0]} to"
                f" {allowed[-1]} ({', '.join(map(str, allowed[:3]))}, ...)"
            )
        if self.ecs_min_tasks > self.ecs_max_tasks:
            raise ValueError(f"ecs_min_tasks {self.ecs_min_tasks} is above ecs_max_tasks {self.ecs_max_tasks}")
        if self.eks_min_nodes > self.eks_max_nodes:
            raise ValueError(f"eks_min_nodes {self.eks_min_nodes} is above eks_max_nodes {self.eks_max_nodes}")
        return self


# The per-service settings that only some targets use -> those targets. Set on a service with none of them, a key
# would do nothing: it is refused instead.
SERVICE_SETTING_TARGETS: Mapping[str, tuple[ServiceTarget, ...]] = {
    "port": ("ecs", "eks"),
    "health_path": ("ecs", "eks"),
    "health_check": ("ecs",),
    "user": ("ecs", "eks"),
    "read_only_root": ("ecs", "eks"),
    "ecs_cpu": ("ecs",),
    "ecs_memory_mb": ("ecs",),
    "ecs_min_tasks": ("ecs",),
    "ecs_max_tasks": ("ecs",),
    "lambda_memory_mb": ("lambda",),
    "lambda_timeout_seconds": ("lambda",),
    "route": ("lambda", "ecs"),
}


class RouteConfig(_Settings):
    """How the environment's shared load balancer and HTTP API reach a service: a path prefix, or a host name.

    A host name is for the ECS target, in environments with a domain. Neither set: the path `/<name>`. A Lambda
    target is always path-routed on the shared HTTP API (`path`, else `/<name>`).
    """

    path: RoutePath | None = Field(
        None, description="path prefix the service answers under, stripped before the request reaches it"
    )
    host: HostLabel | None = Field(
        None, description="ECS: answer at `<host>.<domain_name>` instead, unchanged path; needs a domain_name"
    )
    priority: StrictInt | None = Field(
        None,
        ge=1,
        le=limits.ALB_RULE_PRIORITY.value,
        description="ECS: its listener rule's priority (1 is evaluated first); unset: derived from the name, stable"
        " when services are reordered or added",
    )

    @model_validator(mode="after")
    def _path_or_host(self) -> RouteConfig:
        if self.path and self.host:
            raise ValueError("'path' and 'host' are exclusive: a service is routed by one of them")
        return self


class ServiceConfig(_Settings):
    """A container service whose sources live in `docker/<folder>/`.

    The container settings (`port` to `read_only_root`) are for `ecs` and `eks`: a Lambda image answers the
    Runtime API instead. `ecs_*` and `lambda_*` override the environment's value for this service. A key no target
    of the service uses is refused.
    """

    name: ResourceName = Field(description="lower-case name, used in resource names")
    folder: StrictStr = Field(description="folder under docker/ holding the Dockerfile and code")
    dockerfile: StrictStr = Field("Dockerfile", description="Dockerfile name inside the folder")
    targets: list[ServiceTarget] = Field(min_length=1, description="where the image runs")
    build_args: dict[StrictStr, StrictStr] = Field({}, description="docker build --build-arg values")
    route: RouteConfig = Field(
        default_factory=RouteConfig,
        description='how the shared load balancer and HTTP API reach it: `{"path": "/web"}` or'
        ' `{"host": "web"}` (lambda, ecs)',
    )
    port: ContainerPort = Field(
        defaults.CONTAINER_PORT, description="the port the container listens on (ecs, eks; non-root: 1024 and up)"
    )
    health_path: HealthPath = Field(
        defaults.HEALTH_PATH,
        description="answers 200 when the container is healthy: the load balancer checks it, EKS probes it (ecs, eks)",
    )
    health_check: HealthCheckCommand = Field(
        PYTHON_HEALTH_CHECK,
        description="the container's own check on ECS: `python` (the image's Python requests"
        ' `http://127.0.0.1:<port><health_path>`), a command such as `["CMD-SHELL", "wget -qO- ... || exit 1"]`,'
        " or `none` for images without Python or a shell (ecs)",
    )
    user: ContainerUser = Field(
        defaults.CONTAINER_USER, description="the `uid:gid` the container runs as, never root (ecs, eks)"
    )
    read_only_root: StrictBool = Field(True, description="read-only root file system with a writable `/tmp` (ecs, eks)")
    ecs_cpu: FargateCpu | None = Field(None, description="vCPU units of its Fargate tasks; unset: the environment's")
    ecs_memory_mb: StrictInt | None = Field(
        None, description="memory of its Fargate tasks, MiB, fitting the effective ecs_cpu; unset: the environment's"
    )
    ecs_min_tasks: StrictInt | None = Field(
        None, ge=1, le=100, description="its fewest running tasks; unset: the environment's"
    )
    ecs_max_tasks: StrictInt | None = Field(
        None, ge=1, le=100, description="its most running tasks; unset: the environment's"
    )
    lambda_memory_mb: StrictInt | None = Field(
        None, ge=128, le=10240, description="memory of its Lambda, MB; unset: the environment's"
    )
    lambda_timeout_seconds: StrictInt | None = Field(
        None, ge=1, le=900, description="timeout of its Lambda; unset: the environment's"
    )

    @field_validator(*SERVICE_SETTING_TARGETS)
    @classmethod
    def _used_by_a_target(cls, value: Any, info: ValidationInfo) -> Any:
        targets = info.data.get("targets")
        used_by = SERVICE_SETTING_TARGETS[str(info.field_name)]
        if targets is not None and not set(targets) & set(used_by):
            raise ValueError(
                f"applies to the {' and '.join(repr(t) for t in used_by)} target{'s' if len(used_by) > 1 else ''}"
                f" only, and the service's targets are {', '.join(repr(t) for t in targets)}: remove the key"
            )
        return value

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str, info: ValidationInfo) -> str:
        if not _is_entry(_docker_root(info), value, Path.is_dir):
            raise ValueError(f"must name an existing folder directly under {DOCKER_ROOT}/")
        return value

    @field_validator("build_args")
    @classmethod
    def _build_args(cls, value: dict[str, str]) -> dict[str, str]:
        for name, arg in value.items():
            if name in PLATFORM_ARGS:
                raise ValueError(f"'{name}' is set by the build from the platform ({PLATFORM}); remove it")
            if not _BUILD_ARG.match(name):
                raise ValueError(f"'{shown_name(name)}' is not a build argument name (letters, digits, '_')")
            if "\n" in arg:
                raise ValueError(f"the value of '{shown_name(name)}' must be one line")
        return value

    @model_validator(mode="after")
    def _dockerfile_exists(self, info: ValidationInfo) -> ServiceConfig:
        if not _is_entry(_docker_root(info) / self.folder, self.dockerfile, Path.is_file):
            raise ValueError(
                f"dockerfile '{shown_name(self.dockerfile)}' does not exist in {DOCKER_ROOT}/{shown_name(self.folder)}/"
            )
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"targets {self.targets} repeat a target")
        return self

    @property
    def construct_id(self) -> str:
        """`web-api` -> `WebApi`, the prefix of the service's construct ids."""
        return naming.service_id(self.name)

    @property
    def build_construct_id(self) -> str:
        """The service's ArmImageBuild id; also its prefix in the build-sources bucket."""
        return naming.build_id(self.name)

    @property
    def route_path(self) -> str:
        """The path prefix it answers under: the route's, else `/<name>` (the Lambda target's, and the ECS
        target's unless it is host-routed)."""
        return self.route.path or naming.default_route_path(self.name)

    @property
    def source_dir(self) -> str:
        """Path of the build context, relative to the repository root."""
        return f"{DOCKER_ROOT}/{self.folder}"


class AppConfig(_Settings):
    """Everything the app reads from cdk.json context."""

    project: ResourceName = Field(description="prefix of every resource name")
    environments: Annotated[dict[EnvironmentName, EnvironmentConfig], BeforeValidator(_json_string)] = Field(
        min_length=1, description="the environments to deploy, by name"
    )
    services: Annotated[list[ServiceConfig], BeforeValidator(_json_string)] = Field(
        min_length=1, description="the container services, each built once per building environment"
    )
    eks: Annotated[list[EnvironmentName], NameList] = Field([], description="environments that get an EKS cluster")
    gatekeeper_action: Literal["quarantine", "delete"] = Field(
        "quarantine", description="what the registry gatekeeper does with a pushed image that is not linux/arm64"
    )
    pipeline_connection_arn: ConnectionArn | None = Field(None, description="CodeConnections ARN of the git host")
    pipeline_repository: RepositoryPath | None = Field(None, description="`owner/name` of the repository")
    pipeline_branch: Branch = Field("main", description="the branch whose pushes run the pipeline")
    pipeline_file_paths: Annotated[list[StrictStr], NameList] = Field(
        [], max_length=8, description="glob filters: only pushes touching these paths run it (default: any)"
    )
    pipeline_account: AccountId | None = Field(None, description="account of PipelineStack (default: dev's)")
    pipeline_region: Region | None = Field(None, description="region of PipelineStack (default: dev's)")

    @field_validator("services")
    @classmethod
    def _unique_names(cls, services: list[ServiceConfig]) -> list[ServiceConfig]:
        names = [service.name for service in services]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"service name '{name}' appears more than once; names must be unique")
        # `web-2` and `web2` would both be the construct id `Web2` (the service's nested stack, its outputs).
        ids: dict[str, str] = {}
        for name in names:
            other = ids.setdefault(naming.service_id(name), name)
            if other != name:
                raise ValueError(
                    f"service names '{other}' and '{name}' both make the id '{naming.service_id(name)}'; rename one"
                )
        return services

    @model_validator(mode="after")
    def _combinations(self) -> AppConfig:
        if self.pipeline_account and not self.pipeline_region:
            raise ValueError("'pipeline_region' is required when 'pipeline_account' is set")
        for name in self.eks:
            if name not in self.environments:
                raise ValueError(f"eks lists '{name}', which is not in environments ({', '.join(self.environments)})")
        for name, settings in self.environments.items():
            _check_promotion(self.environments, name, settings)
        for index, service in enumerate(self.services):
            for name, settings in self.environments.items():
                _check_service_sizes(index, service, name, settings)
        _check_service_counts(self.services)
        _check_routes(self.services, self.environments)
        for name in self.environments:
            self._check_alb_targets(name)
        return self

    def _check_alb_targets(self, environment: str) -> None:
        """Every ECS task at its most is one target of the environment's one load balancer."""
        quota = self.environment(environment).alb_targets_quota
        total = sum(self.ecs_sizes(s, environment)[3] for s in self.services if "ecs" in s.targets)
        if total > quota:
            raise _RefusedAt(
                ("environments", environment, "alb_targets_quota"),
                quota,
                f"the ECS services' ecs_max_tasks add up to {total:,} in {environment}, each task one target of the"
                f" environment's load balancer; allowed: a sum of at most alb_targets_quota (default"
                f" {limits.ALB_TARGETS.said}): lower ecs_max_tasks, or raise the quota and set it here",
            )

    def ecs_sizes(self, service: ServiceConfig, environment: str) -> tuple[int, int, int, int]:
        """The service's Fargate (cpu, memory_mb, min_tasks, max_tasks) in an environment: its own, else the
        environment's."""
        settings = self.environment(environment)
        return (
            _own_or(service.ecs_cpu, settings.ecs_cpu),
            _own_or(service.ecs_memory_mb, settings.ecs_memory_mb),
            _own_or(service.ecs_min_tasks, settings.ecs_min_tasks),
            _own_or(service.ecs_max_tasks, settings.ecs_max_tasks),
        )

    def rule_priorities(self) -> dict[str, int]:
        """ECS service name -> its listener rule's priority: its route's, else one derived from its name
        (`naming.rule_priorities`)."""
        return naming.rule_priorities({s.name: s.route.priority for s in self.services if "ecs" in s.targets})

    def promoted_to(self, environment: str) -> list[str]:
        """The environments that run `environment`'s images."""
        return [name for name, s in self.environments.items() if s.images_from == environment]

    @property
    def pipeline_missing(self) -> list[str]:
        """The keys PipelineStack needs that are not set."""
        return [key for key in ("pipeline_connection_arn", "pipeline_repository") if not getattr(self, key)]

    def has_eks(self, environment: str) -> bool:
        return environment in self.eks

    def environment(self, name: str) -> EnvironmentConfig:
        if name not in self.environments:
            raise ConfigError(
                f"environment '{shown_name(name)}' is not configured; configured: {', '.join(self.environments)}"
            )
        return self.environments[name]

    def endpoints(self, environment: str) -> list[naming.Endpoint]:
        """Every HTTP target of every service, and where its URL is in the environment: its path under the target's
        base URL, or its host on the environment's domain."""
        domain_name = self.environment(environment).domain_name
        found = []
        for service in self.services:
            for target in (t for t in service.targets if t in naming.ENDPOINT_TARGETS):
                host = service.route.host if target == "ecs" else None
                found.append(
                    naming.Endpoint(
                        label=naming.endpoint_label(service.name, target),
                        base_output=naming.base_url_output(target),
                        path="" if host else service.route_path,
                        fixed_url=f"https://{host}.{domain_name}" if host else None,
                    )
                )
        return found

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        configured = ", ".join(service.name for service in self.services)
        raise ConfigError(f"service '{shown_name(name)}' is not configured in cdk.json; configured: {configured}")


def _own_or(own: int | None, environments: int) -> int:
    return environments if own is None else own


def _check_service_sizes(index: int, service: ServiceConfig, environment: str, settings: EnvironmentConfig) -> None:
    """A service's own Fargate sizes, combined with the environment's where it sets none, must still fit."""
    cpu = _own_or(service.ecs_cpu, settings.ecs_cpu)
    memory = _own_or(service.ecs_memory_mb, settings.ecs_memory_mb)
    if memory not in FARGATE_MEMORY[cpu]:
        allowed = FARGATE_MEMORY[cpu]
        fitting = (
            f"{allowed[0]} to {allowed[-1]} ({', '.join(map(str, allowed[:3]))}{', ...' if len(allowed) > 3 else ''})"
        )
        if service.ecs_memory_mb is not None:
            whose = "its" if service.ecs_cpu is not None else f"environments.{environment}'s"
            raise _RefusedAt(
                ("services", index, "ecs_memory_mb"),
                memory,
                f"does not fit {whose} ecs_cpu {cpu}; allowed with it: {fitting}",
            )
        raise _RefusedAt(
            ("services", index, "ecs_cpu"),
            cpu,
            f"environments.{environment}'s ecs_memory_mb {memory} does not fit it; set services[{index}].ecs_memory_mb"
            f" too: {fitting}",
        )
    low = _own_or(service.ecs_min_tasks, settings.ecs_min_tasks)
    high = _own_or(service.ecs_max_tasks, settings.ecs_max_tasks)
    if low > high:
        key, value = ("ecs_min_tasks", low) if service.ecs_min_tasks is not None else ("ecs_max_tasks", high)
        raise _RefusedAt(
            ("services", index, key),
            value,
            f"the service's tasks in {environment} would be at least {low} and at most {high}; allowed: ecs_min_tasks"
            " at most ecs_max_tasks (unset: the environment's)",
        )


def _check_service_counts(services: Sequence[ServiceConfig]) -> None:
    """The services fit the environment's one load balancer, its one HTTP API and the scale it is built for."""
    ecs = sum("ecs" in s.targets for s in services)
    functions = sum("lambda" in s.targets for s in services)
    if len(services) > limits.SERVICES_PER_ENVIRONMENT:
        raise _RefusedAt(
            ("services",),
            services,
            f"{len(services)} services; allowed: at most {limits.SERVICES_PER_ENVIRONMENT} per environment",
        )
    if ecs > limits.ECS_SERVICES_PER_ENVIRONMENT:
        raise _RefusedAt(
            ("services",),
            services,
            f"{ecs} services target ecs, each with a target group and a rule on the environment's one load balancer;"
            f" allowed: {limits.ALB_TARGET_GROUPS.said}",
        )
    if functions > limits.LAMBDA_SERVICES_PER_ENVIRONMENT:
        raise _RefusedAt(
            ("services",),
            services,
            f"{functions} services target lambda, each with a route and an integration on the environment's one HTTP"
            f" API; allowed: {limits.HTTP_API_INTEGRATIONS.said}",
        )


def _check_routes(services: Sequence[ServiceConfig], environments: Mapping[Any, EnvironmentConfig]) -> None:
    """Each routed service has a path, host and rule priority of its own; host routing needs a domain."""
    without_domain = [name for name, settings in environments.items() if not settings.domain_name]
    paths: dict[str, int] = {}
    hosts: dict[str, int] = {}
    priorities: dict[int, int] = {}
    for index, service in enumerate(services):
        if not {"lambda", "ecs"} & set(service.targets):
            continue
        host = service.route.host
        if host is not None:
            if "ecs" not in service.targets:
                raise _RefusedAt(
                    ("services", index, "route", "host"),
                    host,
                    "host routing is for the ecs target (a Lambda target is path-routed on the HTTP API); allowed:"
                    " 'path', or add ecs to the targets",
                )
            if without_domain:
                raise _RefusedAt(
                    ("services", index, "route", "host"),
                    host,
                    f"environments.{without_domain[0]} has no domain_name, and a host name needs one in every"
                    " environment; allowed: 'path' (or set domain_name and certificate_arn everywhere)",
                )
            if host in hosts:
                raise _RefusedAt(
                    ("services", index, "route", "host"), host, f"services[{hosts[host]}] has it too; hosts are unique"
                )
            hosts[host] = index
        if host is None or "lambda" in service.targets:
            path = service.route_path
            for other, at in paths.items():
                if path == other or path.startswith(other + "/") or other.startswith(path + "/"):
                    raise _RefusedAt(
                        ("services", index, "route", "path"),
                        path,
                        f"overlaps services[{at}]'s path '{other}'; allowed: a path no other service's is under or"
                        " over",
                    )
            paths[path] = index
        if "ecs" in service.targets:
            given = service.route.priority
            priority = naming.default_rule_priority(service.name) if given is None else given
            if priority in priorities:
                source = "has it" if given is not None else f"takes it from its name '{service.name}'"
                raise _RefusedAt(
                    ("services", index, "route", "priority"),
                    priority,
                    f"services[{priorities[priority]}] has this listener rule priority too (services[{index}]"
                    f" {source}); allowed: a route.priority no other service has (make new-service picks a free one)",
                )
            priorities[priority] = index


def _check_promotion(environments: Mapping[Any, EnvironmentConfig], name: str, settings: EnvironmentConfig) -> None:
    """An environment that runs another's images needs one that builds its own, in a region it can pull from."""
    source_name = settings.images_from
    if source_name is None:
        return
    source = environments.get(source_name)
    if source_name == name or source is None or source.images_from is not None:
        building = [n for n, s in environments.items() if s.images_from is None and n != name]
        raise ValueError(
            f"environments.{name}.images_from '{source_name}' must name another environment that builds its"
            f" own images; those are: {', '.join(building) or 'none'}"
        )
    if bool(settings.account) != bool(source.account):
        raise ValueError(
            f"environments.{name} runs {source_name}'s images: set 'account' and 'region' on both or on"
            f" neither, so {source_name}'s repositories know which account pulls"
        )
    if settings.region and source.region and settings.region != source.region:
        raise ValueError(
            f"environments.{name} ({settings.region}) cannot run images from {source_name} ({source.region}):"
            " Lambda and ECS pull only in their own region; use the same region"
        )


CONTEXT_KEYS = tuple(AppConfig.model_fields)


def _is_entry(folder: Path, name: str, kind: Callable[[Path], bool]) -> bool:
    """Whether `name` is one entry of `folder` of that `kind` (`Path.is_dir`, `Path.is_file`). A name that is no
    single file name ('', '.', '..', a '/' or a NUL in it) is none, and neither is one the file system cannot look
    up (too long): it is refused as missing, never asked of the file system or raised as an OSError."""
    if name in {"", ".", ".."} or "/" in name or "\0" in name:
        return False
    try:
        return kind(folder / name)
    except OSError:
        return False


def _docker_root(info: ValidationInfo) -> Path:
    assert info.context is not None, "load_config passes the root"
    return Path(info.context["root"]) / DOCKER_ROOT


# Where the value at a settings error's location came from (`Context.origin`): cdk.json, `-c <key>`, ...
Origin = Callable[[Sequence[str | int]], str]


def _in_cdk_json(loc: Sequence[str | int]) -> str:
    return "cdk.json"


def load_config(context: Mapping[str, Any], *, root: Path, origin: Origin | None = None) -> AppConfig:
    """Validate the app's context keys; raise ConfigError with one line on the first bad value.

    `context` is the whole CDK context (cdk.json, cdk.context.json and `-c` overrides, merged by CDK, or by
    `graviton_app.context.read_context`); `root` is the repository root that holds docker/; `origin` names where
    the value at an error's location came from, which starts the line (default: cdk.json; `Context.origin` tells
    `-c <key>`, cdk.context.json and cdk.json apart).
    """
    origin = origin or _in_cdk_json
    unknown = sorted(str(key) for key in context if OWN_KEY.match(str(key)) and key not in CONTEXT_KEYS)
    if unknown:
        raise ConfigError(
            f"{origin((unknown[0],))}: unknown context key '{shown_name(unknown[0])}'; allowed keys:"
            f" {', '.join(CONTEXT_KEYS)}"
        )
    ours = {key: context[key] for key in CONTEXT_KEYS if key in context}
    try:
        return AppConfig.model_validate(ours, context={"root": root})
    except ValidationError as err:
        raise ConfigError(_one_line(err, origin)) from None


def _one_line(err: ValidationError, origin: Origin = _in_cdk_json) -> str:
    """The first error as `<origin>: <key> = <value>: <what is allowed>`, where origin is cdk.json, `-c <key>` or
    cdk.context.json, as `origin` says for the error's location.

    An unknown key is reported before anything else in its block, as the block is refused whole.
    """
    errors = err.errors(include_url=False)
    first = errors[0]
    unknown = [
        e for e in errors if e["type"] == "extra_forbidden" and first["loc"][: len(e["loc"]) - 1] == e["loc"][:-1]
    ]
    if unknown:
        block = min(len(e["loc"]) for e in unknown) - 1
        keys = sorted(str(e["loc"][-1]) for e in unknown if len(e["loc"]) - 1 == block)
        loc = first["loc"][:block]
        model = _model_at(loc)
        retired = [e for e in unknown if len(e["loc"]) - 1 == block and str(e["loc"][-1]) in model.retired]
        if retired:
            error = min(retired, key=lambda e: str(e["loc"][-1]))
            replaced_by = model.retired[str(error["loc"][-1])]
            return (
                f"{origin(error['loc'])}: '{_dotted(error['loc'])}' = {shown(error['input'])} is not allowed:"
                f" {replaced_by}"
            )
        allowed = ", ".join(model.model_fields)
        return (
            f"{origin((*loc, keys[0]))}: '{_dotted(loc)}' = <dict> is not allowed: unknown key '{shown_name(keys[0])}';"
            " allowed"
            f" keys: {allowed}"
        )
    refused = first.get("ctx", {}).get("error")
    if isinstance(refused, _RefusedAt):
        return f"{origin(refused.loc)}: '{_dotted(refused.loc)}' = {shown(refused.value)} is not allowed: {refused}"
    key = _dotted(first["loc"]) or "context"
    reason = first["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if first["type"] == "missing":
        return f"{origin(first['loc'])}: '{key}' is missing; it is required"
    if "[key]" in first["loc"]:
        return f"{origin(first['loc'])}: '{key}' is not allowed as a key of '{key.rsplit('.', 1)[0]}': {reason}"
    return f"{origin(first['loc'])}: '{key}' = {shown(first['input'])} is not allowed: {reason}"


def _dotted(loc: Sequence[int | str]) -> str:
    """`('services', 0, 'targets', 1)` -> `services[0].targets[1]`; a key as `messages.name` shows it."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif part != "[key]":
            parts.append(shown_name(part))
    return ".".join(parts)


def _model_at(loc: Sequence[int | str]) -> type[_Settings]:
    """The settings block an error location points into: `('environments', 'dev')` -> EnvironmentConfig."""
    annotation: Any = AppConfig
    for part in loc:
        if get_origin(annotation) in (list, dict):
            annotation = _unwrap(get_args(annotation)[-1])  # the part is an index or a key
        else:
            annotation = _unwrap(annotation.model_fields[str(part)].annotation)
    assert isinstance(annotation, type) and issubclass(annotation, _Settings), loc
    return annotation


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` -> X."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) not in (list, dict) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


@dataclass(frozen=True)
class Setting:
    """What a dotted `-c` key (`environments.dev.region`) addresses in the settings models."""

    # "block": settings by key (an environment); "named": blocks by name (environments, services); "keyed": values
    # by key (build_args); "value": one setting.
    kind: Literal["block", "named", "keyed", "value"]
    keys: tuple[str, ...] = ()  # a block's settings
    text: bool = False  # a value that is text (a name, an id, a region), never read as JSON

    def parse(self, given: Any) -> Any:
        """A `-c` value: JSON when it parses (numbers, true/false, null, lists, objects), else the text; a setting
        that is text keeps it as given (an account id's digits), but for `null`."""
        if not isinstance(given, str):
            return given
        try:
            parsed = json.loads(given)
        except json.JSONDecodeError:
            return given
        return given if self.text and parsed is not None and not isinstance(parsed, str) else parsed


def setting_at(path: Sequence[str]) -> Setting:
    """The setting a dotted `-c` key names, by the models: `('environments', 'dev', 'region')` -> a text value.

    The part after `environments`, `services` or `build_args` is a name, taken as it comes (the data decides
    whether it exists). ConfigError with one line when a part is no setting there, or goes inside a single value.
    """
    annotation: Any = AppConfig
    for depth, part in enumerate(path):
        current = _unwrap(annotation)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                where = f"of {_dotted(path[:depth])}" if depth else "at the top level"
                raise ConfigError(
                    f"'{shown_name(part)}' is not a setting {where}; allowed keys: {', '.join(current.model_fields)}"
                )
            annotation = current.model_fields[part].annotation
        elif _is_block(_item(current)) or get_origin(current) is dict:  # the part is a name or a key
            annotation = get_args(current)[-1]
        else:
            raise ConfigError(f"'{_dotted(path[:depth])}' is one value, with no settings inside; give it whole")
    current = _unwrap(annotation)
    if _is_block(current):
        return Setting("block", keys=tuple(current.model_fields))
    if _is_block(_item(current)):
        return Setting("named")
    if get_origin(current) is dict:
        return Setting("keyed")
    is_text = current is str or (get_origin(current) is Literal and all(isinstance(a, str) for a in get_args(current)))
    return Setting("value", text=is_text)


def _is_block(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _item(annotation: Any) -> Any:
    """A list's or a dict's item type (unwrapped); None for anything else."""
    return _unwrap(get_args(annotation)[-1]) if get_origin(annotation) in (list, dict) else None


__all__ = [
    "CONTEXT_KEYS",
    "AppConfig",
    "ConfigError",
    "EnvironmentConfig",
    "Origin",
    "RouteConfig",
    "ServiceConfig",
    "Setting",
    "UsageConfig",
    "load_config",
    "setting_at",
]
