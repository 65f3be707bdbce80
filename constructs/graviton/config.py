"""Load and validate the app's settings from cdk.json context, before any construct is built.

Every error is one line that names the key, the bad value and what is allowed (`ConfigError`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from aws_cdk import region_info
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from graviton.constants import (
    BUILD_TIMEOUT_MINUTES,
    DEFAULT_EKS_VERSION,
    DEFAULT_MAX_IMAGE_COUNT,
    DOCKER_ROOT,
    ENVIRONMENT_NAMES,
    FARGATE_MEMORY,
    LOG_RETENTION,
    PLATFORM,
    PLATFORM_ARGS,
)
from graviton.guard.instance_types import is_graviton

EnvironmentName = Literal["dev", "test", "prod"]
ServiceTarget = Literal["lambda", "ecs", "eks"]

# Plain lower-case keys are ours; CDK's own keys carry '@', ':' or '/' and are left alone.
_OWN_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
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


class ConfigError(ValueError):
    """A cdk.json (or `-c`) value that is not allowed; the message is one line."""


class _Settings(BaseModel):
    """Base for every settings block: unknown keys are refused, never silently ignored."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"unknown key '{unknown[0]}'; allowed keys: {', '.join(cls.model_fields)}")
        return data


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

    account: StrictStr | None = Field(None, description="12-digit AWS account id; unset: account-agnostic")
    region: StrictStr | None = Field(None, description="AWS region; required with account")
    lambda_memory_mb: StrictInt = Field(512, ge=128, le=10240, description="memory of each Lambda, MB")
    lambda_timeout_seconds: StrictInt = Field(10, ge=1, le=900, description="timeout of each Lambda")
    image_build_timeout_minutes: StrictInt = Field(
        30, ge=BUILD_TIMEOUT_MINUTES[0], le=BUILD_TIMEOUT_MINUTES[1], description="longest wait for one image build"
    )
    max_image_count: StrictInt = Field(
        DEFAULT_MAX_IMAGE_COUNT, ge=1, le=1000, description="images kept per repository; older ones expire"
    )
    lambda_reserved_concurrency: StrictInt | None = Field(
        None, ge=1, le=900, description="reserved concurrency per Lambda; the account keeps 100 unreserved"
    )
    log_retention_days: StrictInt = Field(30, description="how long workload logs are kept")
    alarm_email: StrictStr | None = Field(None, description="who the alarm topic emails; unset: nobody")
    ecs_cpu: StrictInt = Field(256, description="vCPU units of each Fargate task")
    ecs_memory_mb: StrictInt = Field(512, description="memory of each Fargate task, MiB")
    ecs_min_tasks: StrictInt = Field(1, ge=1, le=100, description="fewest running tasks")
    ecs_max_tasks: StrictInt = Field(2, ge=1, le=100, description="most running tasks (CPU autoscaling)")
    nat_gateways: StrictInt = Field(
        0, ge=0, le=2, description="0: tasks and nodes in public subnets, no NAT; 1-2: private subnets behind NAT"
    )
    eks_instance_types: list[StrictStr] = Field(["t4g.medium"], min_length=1, description="Graviton node types")
    eks_min_nodes: StrictInt = Field(1, ge=1, le=100, description="fewest nodes (the desired count)")
    eks_max_nodes: StrictInt = Field(3, ge=1, le=100, description="most nodes")
    eks_version: StrictStr = Field(DEFAULT_EKS_VERSION, description="Kubernetes version of the cluster")
    eks_admin_role_arns: list[StrictStr] = Field([], description="IAM roles given cluster-admin access entries")
    usage: UsageConfig = Field(default_factory=UsageConfig, description="monthly usage for make cost")
    images_from: EnvironmentName | None = Field(
        None, description="run the images this environment built (promotion) instead of building its own"
    )

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError("must be a 12-digit AWS account id, for example '123456789012'")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and value not in known_regions():
            raise ValueError("must be an AWS region such as 'us-east-1' or 'eu-west-1'")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION:
            raise ValueError(f"must be one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION))}")
        return value

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be an email address such as 'team@example.com'")
        return value

    @field_validator("ecs_cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_MEMORY:
            raise ValueError(f"must be a Fargate size: {', '.join(map(str, FARGATE_MEMORY))}")
        return value

    @field_validator("eks_instance_types")
    @classmethod
    def _graviton(cls, value: list[str]) -> list[str]:
        for instance_type in value:
            if not is_graviton(instance_type):
                raise ValueError(f"'{instance_type}' is not a Graviton instance type (t4g, m7g, c7g, r7g, ...)")
        return value

    @field_validator("eks_version")
    @classmethod
    def _eks_version(cls, value: str) -> str:
        if not _EKS_VERSION.match(value):
            raise ValueError("must be a Kubernetes minor version such as '1.34'")
        return value

    @field_validator("eks_admin_role_arns")
    @classmethod
    def _role_arns(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not _ROLE_ARN.match(arn):
                raise ValueError(f"'{arn}' is not an IAM role ARN (arn:aws:iam::123456789012:role/name)")
        return value

    @model_validator(mode="after")
    def _region_with_account(self) -> EnvironmentConfig:
        if self.account and not self.region:
            raise ValueError("'region' is required when 'account' is set")
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


class ServiceConfig(_Settings):
    """A container service whose sources live in `docker/<folder>/`."""

    name: StrictStr = Field(description="lower-case name, used in resource names")
    folder: StrictStr = Field(description="folder under docker/ holding the Dockerfile and code")
    dockerfile: StrictStr = Field("Dockerfile", description="Dockerfile name inside the folder")
    targets: list[ServiceTarget] = Field(min_length=1, description="where the image runs")
    build_args: dict[StrictStr, StrictStr] = Field({}, description="docker build --build-arg values")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits and '-', starting with a letter, 30 at most")
        return value

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str, info: ValidationInfo) -> str:
        if "/" in value or value in {"", ".", ".."} or not (_docker_root(info) / value).is_dir():
            raise ValueError(f"must name an existing folder directly under {DOCKER_ROOT}/")
        return value

    @field_validator("build_args")
    @classmethod
    def _build_args(cls, value: dict[str, str]) -> dict[str, str]:
        for name, arg in value.items():
            if name in PLATFORM_ARGS:
                raise ValueError(f"'{name}' is set by the build from the platform ({PLATFORM}); remove it")
            if not _BUILD_ARG.match(name):
                raise ValueError(f"'{name}' is not a build argument name (letters, digits, '_')")
            if "\n" in arg:
                raise ValueError(f"the value of '{name}' must be one line")
        return value

    @model_validator(mode="after")
    def _dockerfile_exists(self, info: ValidationInfo) -> ServiceConfig:
        if "/" in self.dockerfile or not (_docker_root(info) / self.folder / self.dockerfile).is_file():
            raise ValueError(f"dockerfile '{self.dockerfile}' does not exist in {DOCKER_ROOT}/{self.folder}/")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"targets {self.targets} repeat a target")
        return self

    @property
    def construct_id(self) -> str:
        """`web-api` -> `WebApi`, the prefix of the service's construct ids."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def build_construct_id(self) -> str:
        """The service's ArmImageBuild id; also its prefix in the build-sources bucket."""
        return f"{self.construct_id}Build"

    @property
    def source_dir(self) -> str:
        """Path of the build context, relative to the repository root."""
        return f"{DOCKER_ROOT}/{self.folder}"


class AppConfig(_Settings):
    """Everything the app reads from cdk.json context."""

    project: StrictStr = Field(description="prefix of every resource name")
    environments: dict[EnvironmentName, EnvironmentConfig] = Field(min_length=1)
    services: list[ServiceConfig] = Field(min_length=1)
    eks: list[EnvironmentName] = Field([], description="environments that get an EKS cluster")
    gatekeeper_action: Literal["quarantine", "delete"] = Field(
        "quarantine", description="what the registry gatekeeper does with a pushed image that is not linux/arm64"
    )
    pipeline_connection_arn: StrictStr | None = Field(None, description="CodeConnections ARN of the git host")
    pipeline_repository: StrictStr | None = Field(None, description="`owner/name` of the repository")
    pipeline_branch: StrictStr = Field("main", description="the branch whose pushes run the pipeline")
    pipeline_file_paths: list[StrictStr] = Field(
        [], max_length=8, description="glob filters: only pushes touching these paths run it (default: any)"
    )
    pipeline_account: StrictStr | None = Field(None, description="account of PipelineStack (default: dev's)")
    pipeline_region: StrictStr | None = Field(None, description="region of PipelineStack (default: dev's)")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits and '-', starting with a letter, 30 at most")
        return value

    @field_validator("environments", "services", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        """`cdk synth -c services='[...]'` passes a string: read it as JSON."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as err:
                raise ValueError(f"must be JSON ({err.msg})") from None
        return value

    @field_validator("pipeline_connection_arn")
    @classmethod
    def _connection(cls, value: str | None) -> str | None:
        if value is not None and not _CONNECTION_ARN.match(value):
            raise ValueError(
                "must be a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)"
            )
        return value

    @field_validator("pipeline_repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not _REPOSITORY.match(value):
            raise ValueError("must be 'owner/name', for example 'acme/graviton-guarantee'")
        return value

    @field_validator("pipeline_branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not _BRANCH.match(value):
            raise ValueError("must be a branch name such as 'main'")
        return value

    @field_validator("pipeline_account")
    @classmethod
    def _pipeline_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError("must be a 12-digit AWS account id, for example '123456789012'")
        return value

    @field_validator("pipeline_region")
    @classmethod
    def _pipeline_region(cls, value: str | None) -> str | None:
        if value is not None and value not in known_regions():
            raise ValueError("must be an AWS region such as 'us-east-1' or 'eu-west-1'")
        return value

    @field_validator("eks", "pipeline_file_paths", mode="before")
    @classmethod
    def _environment_list(cls, value: Any) -> Any:
        """`-c eks=dev,prod` passes a string: a comma-separated list (or JSON)."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                try:
                    return json.loads(value)
                except json.JSONDecodeError as err:
                    raise ValueError(f"must be JSON ({err.msg}) or names separated by commas") from None
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _pipeline_region_with_account(self) -> AppConfig:
        if self.pipeline_account and not self.pipeline_region:
            raise ValueError("'pipeline_region' is required when 'pipeline_account' is set")
        return self

    @model_validator(mode="after")
    def _eks_environments_exist(self) -> AppConfig:
        for name in self.eks:
            if name not in self.environments:
                raise ValueError(f"eks lists '{name}', which is not in environments ({', '.join(self.environments)})")
        return self

    @model_validator(mode="after")
    def _promotions_have_a_building_source(self) -> AppConfig:
        for name, settings in self.environments.items():
            source_name = settings.images_from
            if source_name is None:
                continue
            source = self.environments.get(source_name)
            if source_name == name or source is None or source.images_from is not None:
                building = [n for n, s in self.environments.items() if s.images_from is None and n != name]
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
        return self

    def promoted_to(self, environment: str) -> list[str]:
        """The environments that run `environment`'s images."""
        return [name for name, s in self.environments.items() if s.images_from == environment]

    @property
    def pipeline_missing(self) -> list[str]:
        """The keys PipelineStack needs that are not set."""
        return [key for key in ("pipeline_connection_arn", "pipeline_repository") if not getattr(self, key)]

    def has_eks(self, environment: str) -> bool:
        return environment in self.eks

    @field_validator("services")
    @classmethod
    def _unique_names(cls, services: list[ServiceConfig]) -> list[ServiceConfig]:
        names = [service.name for service in services]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"service name '{name}' appears more than once; names must be unique")
        return services

    def environment(self, name: str) -> EnvironmentConfig:
        if name not in self.environments:
            raise ConfigError(f"environment '{name}' is not configured; configured: {', '.join(self.environments)}")
        return self.environments[name]


CONTEXT_KEYS = tuple(AppConfig.model_fields)


@cache
def known_regions() -> frozenset[str]:
    """Regions CDK's own fact table knows, so the list moves with the pinned aws-cdk-lib."""
    return frozenset(region.name for region in region_info.RegionInfo.regions)


def _docker_root(info: ValidationInfo) -> Path:
    return Path(info.context["root"]) / DOCKER_ROOT


def load_config(context: dict[str, Any], *, root: Path) -> AppConfig:
    """Validate the app's context keys; raise ConfigError with one line on the first bad value.

    `context` is the whole CDK context (cdk.json, cdk.context.json and `-c` overrides, merged by CDK);
    `root` is the repository root that holds docker/.
    """
    unknown = sorted(key for key in context if _OWN_KEY.match(key) and key not in CONTEXT_KEYS)
    if unknown:
        raise ConfigError(f"cdk.json: unknown context key '{unknown[0]}'; allowed keys: {', '.join(CONTEXT_KEYS)}")
    ours = {key: context[key] for key in CONTEXT_KEYS if key in context}
    try:
        return AppConfig.model_validate(ours, context={"root": root})
    except ValidationError as err:
        raise ConfigError(_one_line(err)) from None


def _one_line(err: ValidationError) -> str:
    """The first error as `cdk.json: <key> = <value>: <what is allowed>`."""
    first = err.errors(include_url=False)[0]
    parts: list[str] = []
    for part in first["loc"]:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif part != "[key]":
            parts.append(str(part))
    key = ".".join(parts) or "context"
    reason = first["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if first["type"] == "missing":
        return f"cdk.json: '{key}' is missing; it is required"
    if "[key]" in first["loc"]:
        return f"cdk.json: '{key}' is not allowed as a key of '{key.rsplit('.', 1)[0]}': {reason}"
    value = first["input"]
    shown = json.dumps(value) if isinstance(value, str | int | float | bool | None) else f"<{type(value).__name__}>"
    return f"cdk.json: '{key}' = {shown} is not allowed: {reason}"


__all__ = [
    "CONTEXT_KEYS",
    "ENVIRONMENT_NAMES",
    "AppConfig",
    "ConfigError",
    "EnvironmentConfig",
    "ServiceConfig",
    "load_config",
]
