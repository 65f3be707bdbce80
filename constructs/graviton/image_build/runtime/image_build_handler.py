"""Custom-resource handler: start the ARM CodeBuild build for a tag and wait until its image is in ECR.

Driven by the CDK Provider framework: `on_event` starts the build (or skips it when the tag exists),
`is_complete` polls it until it succeeds, fails, or outlives its timeout. While the account's concurrent-build
quota is used up, the polls keep asking CodeBuild for a slot within the same timeout.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError
from image_build_contract import (
    ATTR_BUILD_ID,
    ATTR_IMAGE_DIGEST,
    ATTR_IMAGE_URI,
    ATTR_WAITING_SINCE,
    NO_CAPACITY_CODE,
    REQUEST_ID_VARIABLE,
    BuildFailedError,
    ImageBuildProperties,
    existing_digest,
    logs_link,
    settle,
    start_build_request,
    with_retry,
)

logger = Logger(service="image-build")
# Connection errors and 5xx are botocore's to retry; throttling and IAM propagation are with_retry's.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})
# BatchGetBuilds takes at most 100 ids, ListBuildsForProject's first page (newest first) holds as many.
_BUILDS_SEARCHED = 100


@cache
def clients() -> tuple[Any, Any]:
    """(codebuild, ecr), created on first use so tests can replace them."""
    return boto3.client("codebuild", config=_CONFIG), boto3.client("ecr", config=_CONFIG)


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        # Images outlive the resource: the repository's removal policy decides what happens to them.
        logger.info("delete: nothing to do", physical_id=event.get("PhysicalResourceId"))
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = ImageBuildProperties.from_cfn(event["ResourceProperties"])
    codebuild, ecr = clients()
    try:
        digest = with_retry(lambda: existing_digest(ecr, props))
    except ClientError as err:
        # The building environment was never deployed: its repository does not exist yet either.
        if not props.promoted or err.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        raise BuildFailedError(_not_built_yet(props, f"repository {props.repository_name}")) from None
    if digest:
        logger.info("tag already in the repository: no build", tag=props.image_tag, digest=digest)
        return _response(props, digest=digest, build_id="")
    if props.promoted:
        raise BuildFailedError(_not_built_yet(props, f"image {props.physical_id}"))
    build = _start_build(codebuild, event, props)
    if build is None:
        logger.info("no CodeBuild capacity: polling until a build may start", project=props.project_name)
        data = {ATTR_BUILD_ID: "", ATTR_WAITING_SINCE: str(int(time.time()))}
        return {"PhysicalResourceId": props.physical_id, "Data": data}
    logger.info("build started", build_id=build["id"], tag=props.image_tag, logs=logs_link(build))
    return {"PhysicalResourceId": props.physical_id, "Data": {ATTR_BUILD_ID: build["id"]}}


@logger.inject_lambda_context
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    data = event.get("Data", {})
    if data.get(ATTR_IMAGE_DIGEST):
        return {"IsComplete": True}
    props = ImageBuildProperties.from_cfn(event["ResourceProperties"])
    codebuild, ecr = clients()
    waiting_since = data.get(ATTR_WAITING_SINCE)
    if data.get(ATTR_BUILD_ID):
        build = with_retry(lambda: codebuild.batch_get_builds(ids=[data[ATTR_BUILD_ID]]))["builds"][0]
    else:
        # on_event found no capacity. A poll cannot hand data to the next one: look for a build an earlier poll
        # started before starting one.
        build = _started_earlier(codebuild, props, event["RequestId"])
        if build is None:
            waited = time.time() - float(waiting_since)
            if waited >= props.timeout_seconds:
                raise BuildFailedError(
                    f"no CodeBuild capacity for {props.project_name} in {props.timeout_seconds // 60} min:"
                    f" StartBuild kept answering {NO_CAPACITY_CODE} (the account's concurrent-build quota);"
                    " raise the quota or deploy again when the other builds are done"
                )
            build = _start_build(codebuild, event, props)
            if build is None:
                logger.info("no CodeBuild capacity yet", project=props.project_name, waited=int(waited))
                return {"IsComplete": False}
            logger.info("build started after waiting for capacity", build_id=build["id"], logs=logs_link(build))
    build_id = build["id"]
    # The timeout counts from the first StartBuild: time spent waiting for capacity is part of it.
    waited = time.time() - (float(waiting_since) if waiting_since else build["startTime"].timestamp())
    digest = settle(codebuild, ecr, props, build, waited)
    if digest is None:
        logger.info("build running", build_id=build_id, phase=build.get("currentPhase"), waited=int(waited))
        return {"IsComplete": False}
    logger.info("build succeeded", build_id=build_id, digest=digest)
    return {"IsComplete": True, "Data": _response(props, digest=digest, build_id=build_id)["Data"]}


def _not_built_yet(props: ImageBuildProperties, missing: str) -> str:
    return (
        f"{missing} is not in {props.registry_id}'s registry: this environment runs promoted images, so deploy"
        " the environment that builds them first (the pipeline does)"
    )


def _start_build(codebuild: Any, event: dict[str, Any], props: ImageBuildProperties) -> dict[str, Any] | None:
    """StartBuild for this CloudFormation request; None while the account's concurrent-build quota is used up.

    The request id is the idempotency token (a retry within 5 minutes starts no second build) and a variable
    on the build, which is how a later poll finds a build an earlier one started (`_started_earlier`).
    """
    request = start_build_request(
        props,
        idempotency_token=event["RequestId"],
        request_id=event["RequestId"],
        previous_tag=_previous_tag(event, props),
    )

    def start() -> dict[str, Any] | None:
        try:
            return codebuild.start_build(**request)["build"]
        except ClientError as err:
            if err.response["Error"]["Code"] == NO_CAPACITY_CODE:
                return None
            raise

    return with_retry(start)


def _previous_tag(event: dict[str, Any], props: ImageBuildProperties) -> str | None:
    """On an update, the tag the environment runs now, in the same repository: a warm cache for a fresh build host."""
    if event["RequestType"] != "Update":
        return None
    try:
        previous = ImageBuildProperties.from_cfn(event.get("OldResourceProperties", {}))
    except ValueError:  # written by an older construct: build without it
        return None
    if previous.repository_name != props.repository_name or previous.image_tag == props.image_tag:
        return None
    return previous.image_tag


def _started_earlier(codebuild: Any, props: ImageBuildProperties, request_id: str) -> dict[str, Any] | None:
    """The project's newest build that carries this request's id, if an earlier poll started one."""
    ids = with_retry(
        lambda: codebuild.list_builds_for_project(projectName=props.project_name, sortOrder="DESCENDING")
    ).get("ids", [])[:_BUILDS_SEARCHED]
    if not ids:
        return None
    for build in with_retry(lambda: codebuild.batch_get_builds(ids=ids))["builds"]:
        variables = build.get("environment", {}).get("environmentVariables", [])
        if any(v.get("name") == REQUEST_ID_VARIABLE and v.get("value") == request_id for v in variables):
            return build
    return None


def _response(props: ImageBuildProperties, *, digest: str, build_id: str) -> dict[str, Any]:
    return {
        "PhysicalResourceId": props.physical_id,
        "Data": {ATTR_IMAGE_URI: props.image_uri(digest), ATTR_IMAGE_DIGEST: digest, ATTR_BUILD_ID: build_id},
    }
