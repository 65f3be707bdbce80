"""Custom-resource handler: start the ARM CodeBuild build for a tag and wait until its image is in ECR.

Driven by the CDK Provider framework: `on_event` starts the build (or skips it when the tag exists),
`is_complete` polls it until it succeeds, fails, or outlives its timeout.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from image_build_contract import (
    ATTR_BUILD_ID,
    ATTR_IMAGE_DIGEST,
    ATTR_IMAGE_URI,
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
    digest = with_retry(lambda: existing_digest(ecr, props))
    if digest:
        logger.info("tag already in the repository: no build", tag=props.image_tag, digest=digest)
        return _response(props, digest=digest, build_id="")
    if props.promoted:
        raise BuildFailedError(
            f"image {props.physical_id} is not in {props.registry_id}'s registry: this environment runs promoted"
            " images, so deploy the environment that builds them first (the pipeline does)"
        )
    request = start_build_request(props, idempotency_token=event["RequestId"])
    build = with_retry(lambda: codebuild.start_build(**request))["build"]
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
    build_id = data[ATTR_BUILD_ID]
    build = with_retry(lambda: codebuild.batch_get_builds(ids=[build_id]))["builds"][0]
    waited = time.time() - build["startTime"].timestamp()
    digest = settle(codebuild, ecr, props, build, waited)
    if digest is None:
        logger.info("build running", build_id=build_id, phase=build.get("currentPhase"), waited=int(waited))
        return {"IsComplete": False}
    logger.info("build succeeded", build_id=build_id, digest=digest)
    return {"IsComplete": True, "Data": _response(props, digest=digest, build_id=build_id)["Data"]}


def _response(props: ImageBuildProperties, *, digest: str, build_id: str) -> dict[str, Any]:
    return {
        "PhysicalResourceId": props.physical_id,
        "Data": {ATTR_IMAGE_URI: props.image_uri(digest), ATTR_IMAGE_DIGEST: digest, ATTR_BUILD_ID: build_id},
    }
