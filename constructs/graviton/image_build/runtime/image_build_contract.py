"""What ArmImageBuild, its custom-resource handler and `docker-push` agree on, in one module.

This file ships inside the handler's Lambda asset, so it imports only the standard library and botocore.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from botocore.exceptions import ClientError

# Attributes the custom resource returns (`build.image.get_att_string(ATTR_IMAGE_DIGEST)`).
ATTR_IMAGE_URI = "ImageUri"
ATTR_IMAGE_DIGEST = "ImageDigest"
ATTR_BUILD_ID = "BuildId"
# When the handler first found no CodeBuild capacity (epoch seconds): the build timeout counts from then.
ATTR_WAITING_SINCE = "WaitingSince"
# The variable the buildspec exports with the pushed manifest's digest.
DIGEST_VARIABLE = "IMAGE_DIGEST"
DEFAULT_TIMEOUT_SECONDS = 30 * 60
# Set on every build the handler starts, so a later poll of the same CloudFormation request finds that build.
REQUEST_ID_VARIABLE = "CLOUDFORMATION_REQUEST_ID"
# On an update, the content tag the environment runs now: the buildspec imports that image's inline layer cache.
PREVIOUS_TAG_VARIABLE = "PREVIOUS_IMAGE_TAG"
# The buildspec pushes `candidate-<build id>` first and removes it once the image has its content tag. The
# repository's lifecycle rules expire images under this prefix, so no image an environment runs may keep one.
CANDIDATE_TAG_PREFIX = "candidate-"
# StartBuild's answer while the account's concurrent-build quota is used up: wait for a slot, do not fail.
NO_CAPACITY_CODE = "AccountLimitExceededException"

FAILED_STATUSES = frozenset({"FAILED", "FAULT", "STOPPED", "TIMED_OUT"})
# Throttling, and what IAM returns while a just-created role is still propagating.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "AccountLimitExceededException",
    }
)
PROPAGATION_CODES = frozenset({"AccessDeniedException", "InvalidInputException"})


class BuildFailedError(RuntimeError):
    """The image build did not produce an image; the message names the build and links its logs."""


@dataclass(frozen=True, kw_only=True)
class ImageBuildProperties:
    """The custom resource's properties. CloudFormation passes every value as a string.

    :param project_name: the ARM CodeBuild project that builds the image; empty for a promoted image, which
        is never built here and must already exist.
    :param repository_name: the ECR repository the build pushes to.
    :param repository_uri: that repository's URI, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`.
    :param image_tag: the content-addressed tag (hash of context, Dockerfile, build args and platform).
    :param source_location: `<bucket>/<key>` of the zipped build context (empty for a promoted image).
    :param timeout_seconds: how long to wait for the build before stopping it (default: 30 minutes).
    """

    project_name: str
    repository_name: str
    repository_uri: str
    image_tag: str
    source_location: str
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def to_cfn(self) -> dict[str, Any]:
        return {_cfn_key(field.name): getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_cfn(cls, properties: Mapping[str, Any]) -> ImageBuildProperties:
        values: dict[str, Any] = {}
        for field in fields(cls):
            key = _cfn_key(field.name)
            if key in properties:
                values[field.name] = int(properties[key]) if field.type == "int" else str(properties[key])
        missing = [_cfn_key(f.name) for f in fields(cls) if f.name not in values and f.name != "timeout_seconds"]
        if missing:
            raise ValueError(f"custom resource property '{missing[0]}' is missing")
        return cls(**values)

    @property
    def physical_id(self) -> str:
        """A new tag is a new image: CloudFormation then sees a replacement, never an in-place change."""
        return f"{self.repository_name}:{self.image_tag}"

    def image_uri(self, digest: str) -> str:
        return f"{self.repository_uri}@{digest}"

    @property
    def registry_id(self) -> str:
        """The account that holds the repository: another environment's, for a promoted image."""
        return self.repository_uri.split(".", 1)[0]

    @property
    def promoted(self) -> bool:
        return not self.project_name


def _cfn_key(name: str) -> str:
    """`image_tag` -> `ImageTag`."""
    return "".join(part.capitalize() for part in name.split("_"))


def encode_build_args(build_args: Mapping[str, str]) -> str:
    """`NAME=value` lines, sorted, as the buildspec's BUILD_ARGS variable reads them."""
    return "\n".join(f"{name}={value}" for name, value in sorted(build_args.items()))


def start_build_request(
    props: ImageBuildProperties,
    *,
    idempotency_token: str,
    dockerfile: str | None = None,
    build_args: Mapping[str, str] | None = None,
    request_id: str | None = None,
    previous_tag: str | None = None,
) -> dict[str, Any]:
    """StartBuild arguments for one tag from one source zip; the platform stays the project's own.

    The same token within 5 minutes starts no second build, whoever retries (botocore, the Provider framework).
    ``request_id`` marks the build as the CloudFormation request's, for the handler to find it again;
    ``previous_tag`` names the image to take the layer cache from.
    """
    variables = [{"name": "IMAGE_TAG", "value": props.image_tag, "type": "PLAINTEXT"}]
    if dockerfile:
        variables.append({"name": "DOCKERFILE", "value": dockerfile, "type": "PLAINTEXT"})
    if build_args is not None:
        variables.append({"name": "BUILD_ARGS", "value": encode_build_args(build_args), "type": "PLAINTEXT"})
    if request_id:
        variables.append({"name": REQUEST_ID_VARIABLE, "value": request_id, "type": "PLAINTEXT"})
    if previous_tag:
        variables.append({"name": PREVIOUS_TAG_VARIABLE, "value": previous_tag, "type": "PLAINTEXT"})
    return {
        "projectName": props.project_name,
        "idempotencyToken": idempotency_token,
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": props.source_location,
        "environmentVariablesOverride": variables,
        "timeoutInMinutesOverride": max(5, -(-props.timeout_seconds // 60)),
    }


def existing_digest(ecr: Any, props: ImageBuildProperties) -> str | None:
    """The digest of the image already pushed under the tag, or None (build avoidance).

    A build stopped between giving the content tag and removing its candidate tag leaves an image with both, which
    the candidate lifecycle rule would expire (ECR selects an image when any of its tags matches). Before the image
    is used, the stray candidate tags are removed (only the tags: the content tag keeps the image). A promoted
    environment may not change the building one's registry: it fails and says what to deploy.
    """
    try:
        response = ecr.describe_images(
            registryId=props.registry_id, repositoryName=props.repository_name, imageIds=[{"imageTag": props.image_tag}]
        )
    except ClientError as err:
        if err.response["Error"]["Code"] == "ImageNotFoundException":
            return None
        raise
    details = response.get("imageDetails", [])
    if not details:
        return None
    stray = sorted(tag for tag in details[0].get("imageTags", []) if tag.startswith(CANDIDATE_TAG_PREFIX))
    if stray and props.promoted:
        raise BuildFailedError(
            f"image {props.physical_id} still carries the tag {stray[0]} of a build stopped part-way, so it would"
            " expire: deploy the environment that builds it first, which removes that tag"
        )
    if stray:
        remove_candidate_tags(ecr, props, stray)
    return str(details[0]["imageDigest"])


def remove_candidate_tags(ecr: Any, props: ImageBuildProperties, tags: list[str]) -> None:
    """Remove build candidate tags from an image that keeps its content tag; a tag already gone is fine."""
    response = ecr.batch_delete_image(
        registryId=props.registry_id,
        repositoryName=props.repository_name,
        imageIds=[{"imageTag": tag} for tag in tags],
    )
    failures = [f for f in response.get("failures", []) if f.get("failureCode") != "ImageNotFound"]
    if failures:
        failure = failures[0]
        raise BuildFailedError(
            f"cannot remove the tag {failure.get('imageId', {}).get('imageTag', '?')} from {props.physical_id}"
            f" ({failure.get('failureCode')}: {failure.get('failureReason', '')}); the candidate lifecycle rule"
            " would expire the image"
        )


def pushed_digest(build: Mapping[str, Any]) -> str | None:
    """The digest the buildspec exported, as CodeBuild reports it."""
    for variable in build.get("exportedEnvironmentVariables", []):
        if variable.get("name") == DIGEST_VARIABLE and variable.get("value", "").startswith("sha256:"):
            return variable["value"]
    return None


def failure_message(build: Mapping[str, Any]) -> str:
    """`image build <id> FAILED in phase BUILD: <reason>; logs: <link>`, one line."""
    status = build.get("buildStatus", "UNKNOWN")
    failed = [p for p in build.get("phases", []) if p.get("phaseStatus") in FAILED_STATUSES]
    where = f" in phase {failed[0]['phaseType']}" if failed else ""
    reasons = [c.get("message", "") for p in failed for c in p.get("contexts", []) if c.get("message")]
    reason = f": {' '.join(reasons[0].split())}" if reasons else ""  # CloudFormation shows one line
    return f"image build {build.get('id', '?')} {status}{where}{reason}; logs: {logs_link(build)}"


def settle(
    codebuild: Any, ecr: Any, props: ImageBuildProperties, build: Mapping[str, Any], waited: float
) -> str | None:
    """The pushed digest once the build succeeded, None while it may still run.

    Raises BuildFailedError when it failed, or when it has run longer than the timeout (it is then stopped).
    """
    status = build["buildStatus"]
    if status == "SUCCEEDED":
        digest = pushed_digest(build) or with_retry(lambda: existing_digest(ecr, props))
        if not digest:
            raise BuildFailedError(f"image build {build['id']} succeeded but pushed no {props.physical_id}")
        return digest
    if status in FAILED_STATUSES:
        # A concurrent build of the same sources may have won the tag; a tag in ECR is always a checked image.
        digest = with_retry(lambda: existing_digest(ecr, props))
        if digest:
            return digest
        raise BuildFailedError(failure_message(build))
    if waited >= props.timeout_seconds:
        with_retry(lambda: codebuild.stop_build(id=build["id"]))
        raise BuildFailedError(
            f"image build {build['id']} still running after {props.timeout_seconds // 60} min; stopped it;"
            f" logs: {logs_link(build)}"
        )
    return None


def logs_link(build: Mapping[str, Any]) -> str:
    return build.get("logs", {}).get("deepLink") or "(no logs yet)"


T = TypeVar("T")


def with_retry(
    call: Callable[[], T],
    *,
    attempts: int = 6,
    base_delay: float = 2.0,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Retry throttling and IAM propagation errors with exponential backoff (2, 4, 8, ... seconds)."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ClientError as err:
            error = err.response["Error"]
            transient = error["Code"] in THROTTLING_CODES or (
                error["Code"] in PROPAGATION_CODES and "not authorized" in error.get("Message", "").lower()
            )
            if not transient or attempt == attempts:
                raise
            (sleep or time.sleep)(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover
