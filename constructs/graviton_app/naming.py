"""The names this app gives what it deploys: stacks, repositories, construct ids, stack outputs.

Stacks, the pipeline and the commands all import these, so a name is decided once. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable

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
