"""The names this app gives what it deploys: stacks, repositories, construct ids, stack outputs.

Stacks, the pipeline and the commands all import these, so a name is decided once. Standard library only.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

ENVIRONMENT_NAMES = ("dev", "test", "prod")
# Each service's sources live in `docker/<folder>/`.
DOCKER_ROOT = "docker"

# Stack outputs docker-push and verify read.
OUTPUT_SOURCES_BUCKET = "BuildSourcesBucket"
OUTPUT_BUILD_PROJECT = "BuildProject"
OUTPUT_REPOSITORY_URI = "RepositoryUri"
OUTPUT_IMAGE_URI = "ImageUri"
OUTPUT_EKS_CLUSTER = "EksClusterName"
OUTPUT_EKS_APPLY_PROJECT = "EksApplyProject"
# The targets that answer HTTP. Each has one base URL output per environment, `LambdaBaseUrl` (the shared HTTP API)
# and `EcsBaseUrl` (the shared load balancer, behind CloudFront or on the domain); a service answers under its path.
ENDPOINT_TARGETS = ("lambda", "ecs")


@dataclass(frozen=True)
class Endpoint:
    """One HTTP target of a service, and where its URL comes from: the target's base URL output and the service's
    path, or (a host-routed ECS target) a URL the settings fix, `https://<host>.<domain_name>`."""

    label: str
    base_output: str
    path: str = ""
    fixed_url: str | None = None

    def url(self, outputs: Mapping[str, str]) -> str | None:
        """Its URL given the stack's outputs; None when the base URL output is missing or empty."""
        if self.fixed_url:
            return self.fixed_url
        base = outputs.get(self.base_output)
        return service_url(base, self.path) if base else None

    def shell_url(self) -> str:
        """Its URL as a shell word that reads the base URL from its variable: `${LAMBDA_BASE_URL}/api`."""
        return self.fixed_url or f"${{{base_url_variable(self.base_output)}}}{self.path}"


def stack_name(environment: str) -> str:
    """`dev` -> `DevStack`: the name users type in `cdk deploy DevStack`, also inside the pipeline."""
    return f"{environment.capitalize()}Stack"


def stage_id(environment: str) -> str:
    """`dev` -> `Dev`: the environment's stage in the pipeline."""
    return environment.capitalize()


def service_id(service: str) -> str:
    """`web-api` -> `WebApi`: the prefix of a service's construct ids and stack outputs."""
    return "".join(part.capitalize() for part in service.split("-"))


def service_stack_id(service: str) -> str:
    """`web-api` -> `WebApiStack`: the service's nested stack in its environment's stack. The suffix keeps it apart
    from the environment's own parts, whatever the service is called (a service `api` beside the shared `Api`)."""
    return f"{service_id(service)}Stack"


def build_id(service: str) -> str:
    """The service's ArmImageBuild id, also its prefix in the build-sources bucket."""
    return f"{service_id(service)}Build"


def name_prefix(project: str, environment: str) -> str:
    """`<project>-<environment>-`: what the names of an environment's repositories and build projects start with."""
    return f"{project}-{environment}-"


def repository_name(project: str, environment: str, service: str) -> str:
    """`<project>-<environment>-<service>`: the ECR repository the environment's build pushes the service to."""
    return f"{name_prefix(project, environment)}{service}"


# IAM's longest role name.
_ROLE_NAME_CHARS = 64


def role_name(project: str, environment: str, what: str) -> str:
    """`<project>-<environment>-<what>`, the name of one of an environment's roles (`web-build`, `gatekeeper`); a
    longer one than IAM allows is cut and ended with a hash of the whole. The same in every instance of the stack,
    so a retained repository's policy, which names its pushers by ARN, still names them after the stack is
    re-created. Role names are per account: two stacks of one environment in one account would clash."""
    name = f"{name_prefix(project, environment)}{what}"
    if len(name) <= _ROLE_NAME_CHARS:
        return name
    digest = f"{zlib.crc32(name.encode()):08x}"
    return f"{name[: _ROLE_NAME_CHARS - len(digest) - 1]}-{digest}"


def build_project_name(project: str, environment: str, service: str) -> str:
    """`<project>-<environment>-<service>`: the CodeBuild project that builds the service's image there."""
    return f"{name_prefix(project, environment)}{service}"


def output_key(service: str, what: str) -> str:
    """`ApiBuildProject`: one of a service's stack outputs."""
    return f"{service_id(service)}{what}"


def base_url_output(target: str) -> str:
    """`LambdaBaseUrl`, `EcsBaseUrl`: the base URL output of an HTTP target's services."""
    if target not in ENDPOINT_TARGETS:
        raise ValueError(f"target '{target}' has no endpoint; targets with one: {', '.join(ENDPOINT_TARGETS)}")
    return f"{target.capitalize()}BaseUrl"


def endpoint_label(service: str, target: str) -> str:
    """`api/lambda`: how verify names one endpoint, and what `--url` takes before the `=`."""
    return f"{service}/{target}"


def base_url_variable(output: str) -> str:
    """`EcsBaseUrl` -> `ECS_BASE_URL`: the shell variable that carries a base URL in the pipeline's step."""
    return "".join(f"_{c}" if c.isupper() else c.upper() for c in output).lstrip("_")


# Listener rule priorities run from 1 to this (an ALB limit, `graviton_app.limits.ALB_RULE_PRIORITY`).
_RULE_PRIORITIES = 50_000


def default_route_path(service: str) -> str:
    """`web` -> `/web`: the path prefix a service answers under on the shared load balancer and HTTP API."""
    return f"/{service}"


def default_rule_priority(service: str) -> int:
    """The listener rule priority a service asks for, from its name alone: reordering services renumbers no rule."""
    return 1 + zlib.crc32(service.encode()) % _RULE_PRIORITIES


def rule_priorities(services: Mapping[str, int | None]) -> dict[str, int]:
    """Service name -> its listener rule priority: its own (the value) where given, else its name's. The
    configuration refuses two services with the same one: a rule never moves because another service came or went."""
    return {name: default_rule_priority(name) if priority is None else priority for name, priority in services.items()}


def free_rule_priority(name: str, taken: Collection[int]) -> int | None:
    """None when `name`'s own priority is free, else the next free one after it: what `make new-service` writes into
    a new service's `route.priority`, so that no existing rule moves."""
    priority = default_rule_priority(name)
    if priority not in taken:
        return None
    while priority in taken:
        priority = priority % _RULE_PRIORITIES + 1
    return priority


def service_url(base_url: str, path: str) -> str:
    """`https://d1.cloudfront.net` + `/web` -> `https://d1.cloudfront.net/web`: a path-routed service's URL."""
    return base_url.rstrip("/") + path
