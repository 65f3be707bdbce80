"""The names this app gives what it deploys: stacks, repositories, construct ids, stack outputs.

Stacks, the pipeline and the commands all import these, so a name is decided once. Standard library only.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

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
# The targets that answer HTTP, each with an endpoint output of its own: `<Service>LambdaUrl`, `<Service>EcsUrl`.
ENDPOINT_TARGETS = ("lambda", "ecs")


def stack_name(environment: str) -> str:
    """`dev` -> `DevStack`: the name users type in `cdk deploy DevStack`, also inside the pipeline."""
    return f"{environment.capitalize()}Stack"


def stage_id(environment: str) -> str:
    """`dev` -> `Dev`: the environment's stage in the pipeline."""
    return environment.capitalize()


def service_id(service: str) -> str:
    """`web-api` -> `WebApi`: the prefix of a service's construct ids and stack outputs."""
    return "".join(part.capitalize() for part in service.split("-"))


def build_id(service: str) -> str:
    """The service's ArmImageBuild id, also its prefix in the build-sources bucket."""
    return f"{service_id(service)}Build"


def repository_name(project: str, environment: str, service: str) -> str:
    """`<project>-<environment>-<service>`: the ECR repository the environment's build pushes the service to."""
    return f"{project}-{environment}-{service}"


def output_key(service: str, what: str) -> str:
    """`ApiBuildProject`: one of a service's stack outputs."""
    return f"{service_id(service)}{what}"


def url_output_key(service: str, target: str) -> str:
    """`ApiLambdaUrl`, `WebEcsUrl`: the endpoint output of one of a service's HTTP targets."""
    if target not in ENDPOINT_TARGETS:
        raise ValueError(f"target '{target}' has no endpoint; targets with one: {', '.join(ENDPOINT_TARGETS)}")
    return output_key(service, f"{target.capitalize()}Url")


def endpoint_label(service: str, target: str) -> str:
    """`api/lambda`: how verify names one endpoint, and what `--url` takes before the `=`."""
    return f"{service}/{target}"


def url_outputs(services: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Output key -> endpoint label for every HTTP target of (service name, targets)."""
    return {
        url_output_key(name, target): endpoint_label(name, target)
        for name, targets in services
        for target in targets
        if target in ENDPOINT_TARGETS
    }


def url_variable(label: str) -> str:
    """`web-api/ecs` -> `WEB_API_ECS_URL`: the shell variable that carries an endpoint in the pipeline's step."""
    return f"{label.upper().replace('-', '_').replace('/', '_')}_URL"


# Listener rule priorities run from 1 to this (an ALB limit, `graviton_app.limits.ALB_RULE_PRIORITY`).
_RULE_PRIORITIES = 50_000


def default_route_path(service: str) -> str:
    """`web` -> `/web`: the path prefix a service answers under on the shared load balancer and HTTP API."""
    return f"/{service}"


def default_rule_priority(service: str) -> int:
    """The listener rule priority a service asks for, from its name alone: reordering services renumbers no rule."""
    return 1 + zlib.crc32(service.encode()) % _RULE_PRIORITIES


def rule_priorities(services: Mapping[str, int | None]) -> dict[str, int]:
    """Service name -> its listener rule priority: its own (the value) where given, else its name's, else (two names
    asking for the same) the next free one, the names taken in sorted order. Given priorities must differ.

    With 100 services two names share a priority about once in ten configurations: the next free one keeps them
    apart, and only a new name that sorts first among those sharing one moves another rule.
    """
    taken = {priority for priority in services.values() if priority is not None}
    chosen = {name: priority for name, priority in services.items() if priority is not None}
    for name in sorted(name for name, priority in services.items() if priority is None):
        priority = default_rule_priority(name)
        while priority in taken:
            priority = priority % _RULE_PRIORITIES + 1
        taken.add(priority)
        chosen[name] = priority
    return chosen


def service_url(base_url: str, path: str) -> str:
    """`https://d1.cloudfront.net` + `/web` -> `https://d1.cloudfront.net/web`: a path-routed service's URL."""
    return base_url.rstrip("/") + path
