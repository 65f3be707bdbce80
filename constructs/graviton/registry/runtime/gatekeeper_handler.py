"""The registry gatekeeper's Lambda: every image pushed to the project's repositories must be one linux/arm64 image.

EventBridge invokes `handle` for each successful ECR push ("ECR Image Action", PUSH, SUCCESS). The handler reads the
pushed manifest by digest and its config blob, asks `image_manifest.inspect`, and quarantines or deletes anything
else, with one message to the SNS topic. An image that passes is left untouched and reported to nobody.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from gatekeeper_contract import ACTIONS, ENV_ACTION, ENV_TOPIC_ARN, quarantine_tag
from image_manifest import ACCEPTED_MEDIA_TYPES, Verdict, inspect

logger = Logger(service="registry-gatekeeper")
# Connection errors, 5xx and throttling are botocore's to retry, a few times, before the handler reports anything.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
# An image config is a few KiB: anything far larger is not one, and must not fill the function's memory.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
HTTP_TIMEOUT_SECONDS = 10
# SNS refuses longer subjects.
SUBJECT_LIMIT = 100


class GatekeeperError(Exception):
    """ECR answered, but not with what the gatekeeper can accept (no manifest, a config that does not match its
    digest, a per-image failure); the message says what."""


class ActionError(Exception):
    """Quarantine or deletion stopped part-way: `done` lists the steps that succeeded before `error`."""

    def __init__(self, done: list[str], error: Exception) -> None:
        super().__init__(str(error))
        self.done = done
        self.error = error


@dataclass(frozen=True)
class Push:
    """One successful push, as ECR's "ECR Image Action" event describes it (a push by digest has no tag)."""

    repository: str
    digest: str
    tag: str | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Push:
        detail = event["detail"]
        return cls(detail["repository-name"], detail["image-digest"], detail.get("image-tag") or None)

    @property
    def label(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"


@cache
def clients() -> tuple[Any, Any]:
    """(ecr, sns), created on first use so tests can replace them."""
    return boto3.client("ecr", config=_CONFIG), boto3.client("sns", config=_CONFIG)


@logger.inject_lambda_context
def handle(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Check one pushed image; returns what happened (`outcome`: ignored, passed, quarantined, deleted, failed or
    unchecked) and what the image is (`found`)."""
    push = Push.from_event(event)
    logger.append_keys(repository=push.repository, tag=push.tag, digest=push.digest)
    if push.tag == quarantine_tag(push.digest):
        # The push event of our own quarantine re-tag: checking it again would only report the image twice.
        logger.info("our own quarantine tag: nothing to check")
        return {"outcome": "ignored", "found": ""}
    action = os.environ[ENV_ACTION]
    if action not in ACTIONS:
        raise ValueError(f"{ENV_ACTION} is '{action}', not one of {', '.join(ACTIONS)}")
    ecr, sns = clients()
    try:
        manifest, media_type = read_manifest(ecr, push)
        verdict = inspect(manifest, media_type, lambda digest: download_config(ecr, push.repository, digest))
    except Exception as error:  # whatever stops the check is reported: an unchecked push must never pass silently
        logger.exception("could not check the pushed image")
        done = (
            "nothing, the image is left as it was; check it by hand: aws ecr batch-get-image"
            f" --repository-name {push.repository} --image-ids imageDigest={push.digest}"
        )
        _report(sns, push, summary="could not check", found=f"nothing: {_describe(error)}", done=done)
        return {"outcome": "unchecked", "found": "unreadable"}
    if verdict.ok:
        logger.info("a single linux/arm64 image: passes", found=verdict.found)
        return {"outcome": "passed", "found": verdict.found}
    logger.warning("not a single linux/arm64 image", found=verdict.found, reason=verdict.reason, action=action)
    outcome, summary, done = _act(ecr, push, action, manifest, media_type)
    _report(sns, push, summary=summary, found=_found(verdict), done=done)
    return {"outcome": outcome, "found": verdict.found}


def _act(ecr: Any, push: Push, action: str, manifest: str, media_type: str | None) -> tuple[str, str, str]:
    """Quarantine or delete the image: (outcome, the report's summary, what was done)."""
    try:
        if action == "delete":
            return "deleted", "deleted", "; ".join(delete(ecr, push))
        steps, archived = quarantine(ecr, push, manifest, media_type)
        return "quarantined", "quarantined" if archived else "quarantined (not archived)", "; ".join(steps)
    except ActionError as failure:
        logger.exception(f"{action} failed", done=failure.done)
        before = "; ".join(failure.done) or "nothing"
        return (
            "failed",
            f"could not {action}",
            f"FAILED ({_describe(failure.error)}) after: {before}. Finish it by hand.",
        )


def read_manifest(ecr: Any, push: Push) -> tuple[str, str | None]:
    """The pushed manifest's exact text and ECR's media type for it, by digest (a tag may be gone already)."""
    response = ecr.batch_get_image(
        repositoryName=push.repository,
        imageIds=[{"imageDigest": push.digest}],
        acceptedMediaTypes=ACCEPTED_MEDIA_TYPES,
    )
    images = response.get("images", [])
    if not images:
        failure = (response.get("failures") or [{}])[0]
        code, reason = failure.get("failureCode", "no image"), failure.get("failureReason", "")
        raise GatekeeperError(f"ECR returned no manifest: {code} {reason}".strip())
    return images[0]["imageManifest"], images[0].get("imageManifestMediaType")


def download_config(ecr: Any, repository: str, digest: str) -> dict[str, Any]:
    """The image's config blob, fetched the way `docker pull` does, and checked against its digest."""
    url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)["downloadUrl"]
    body = http_get(url)
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise GatekeeperError(f"the config blob does not match its digest {digest}")
    config = json.loads(body)
    if not isinstance(config, dict):
        raise GatekeeperError("the config blob is not a JSON object")
    return config


def http_get(url: str) -> bytes:
    """GET ECR's presigned download URL; the only call that is not an AWS API call (tests replace it)."""
    if not url.startswith("https://"):
        raise GatekeeperError("ECR's download URL is not HTTPS")
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
        body = response.read(MAX_CONFIG_BYTES + 1)
    if len(body) > MAX_CONFIG_BYTES:
        raise GatekeeperError(f"the config blob is larger than {MAX_CONFIG_BYTES} bytes")
    return body


def quarantine(ecr: Any, push: Push, manifest: str, media_type: str | None) -> tuple[list[str], bool]:
    """Tag the image `quarantined-<digest>`, remove every other tag, then archive it so that it cannot be pulled.

    Returns the steps done and whether the image is archived. The quarantine tag goes on first: removing an image's
    last tag deletes the image. Every step is skipped when already done, so a retried invocation finishes what an
    earlier one started. Archiving is the last step and the only one whose failure leaves a quarantined image (no
    deployable tag), so it is reported in the steps rather than as a failed quarantine.
    """
    done: list[str] = []
    tag = quarantine_tag(push.digest)
    try:
        detail = _image_detail(ecr, push)
        tags = set(detail.get("imageTags", []))
        if tag in tags:
            done.append(f"already tagged {tag}")
        else:
            _put_tag(ecr, push, manifest, media_type, tag)
            done.append(f"tagged {tag}")
        others = sorted(tags - {tag})
        if others:
            _delete_ids(ecr, push, [{"imageTag": other} for other in others])
            done.append(f"removed tag(s) {', '.join(others)}")
        else:
            done.append("no other tag to remove")
    except (ClientError, BotoCoreError, GatekeeperError) as error:
        raise ActionError(done, error) from error
    if detail.get("imageStatus") == "ARCHIVED":
        done.append("already archived")
        return done, True
    try:
        ecr.update_image_storage_class(
            repositoryName=push.repository, imageId={"imageDigest": push.digest}, targetStorageClass="ARCHIVE"
        )
    except (ClientError, BotoCoreError) as error:
        logger.exception("archiving failed")
        done.append(f"archiving FAILED ({_describe(error)}): it can still be pulled by digest or by {tag}")
        return done, False
    done.append("archived it (pulls fail until someone restores it)")
    return done, True


def delete(ecr: Any, push: Push) -> list[str]:
    """Delete the image by digest: the manifest and every tag on it."""
    try:
        _delete_ids(ecr, push, [{"imageDigest": push.digest}])
    except (ClientError, BotoCoreError, GatekeeperError) as error:
        raise ActionError([], error) from error
    return ["deleted the image and every tag on it"]


def _put_tag(ecr: Any, push: Push, manifest: str, media_type: str | None, tag: str) -> None:
    """PutImage of the exact manifest that was checked, under `tag`; `imageDigest` makes ECR refuse any other."""
    request = {
        "repositoryName": push.repository,
        "imageManifest": manifest,
        "imageTag": tag,
        "imageDigest": push.digest,
    }
    if media_type:
        request["imageManifestMediaType"] = media_type
    try:
        ecr.put_image(**request)
    except ClientError as error:
        # An earlier push of the same image was quarantined already: the tag is there.
        if error.response["Error"]["Code"] != "ImageAlreadyExistsException":
            raise


def _image_detail(ecr: Any, push: Push) -> dict[str, Any]:
    """Every tag the image has (other pushes may have tagged it too) and its storage status (`imageStatus`)."""
    details = ecr.describe_images(repositoryName=push.repository, imageIds=[{"imageDigest": push.digest}])
    return (details.get("imageDetails") or [{}])[0]


def _delete_ids(ecr: Any, push: Push, image_ids: list[dict[str, str]]) -> None:
    """BatchDeleteImage answers 200 with per-image failures: any but an already-gone tag or image is an error."""
    response = ecr.batch_delete_image(repositoryName=push.repository, imageIds=image_ids)
    failures = [f for f in response.get("failures", []) if f.get("failureCode") != "ImageNotFound"]
    if failures:
        raise GatekeeperError(
            "; ".join(f"{f.get('failureCode')} {f.get('failureReason', '')}".strip() for f in failures)
        )


def _found(verdict: Verdict) -> str:
    return f"{verdict.found} ({verdict.reason})" if verdict.reason else verdict.found


def _describe(error: Exception) -> str:
    """One line: an AWS error's code and message, or the exception's own text."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".strip()
    if isinstance(error, GatekeeperError):
        return str(error)
    return " ".join(f"{type(error).__name__}: {error}".split())


def _report(sns: Any, push: Push, *, summary: str, found: str, done: str) -> None:
    """One message per pushed image that did not pass (`summary`: quarantined, could not check, ...). A failure to
    publish raises, so Lambda retries the event and, after its retries, sends it to the on-failure destination."""
    lines = [
        f"The registry gatekeeper {summary} an image pushed to {push.repository}.",
        "",
        f"repository: {push.repository}",
        f"tag: {push.tag or '(none: pushed by digest)'}",
        f"digest: {push.digest}",
        f"found: {found}",
        f"done: {done}",
    ]
    subject = f"Registry gatekeeper {summary} {push.label}"
    sns.publish(
        TopicArn=os.environ[ENV_TOPIC_ARN],
        Subject=subject[: SUBJECT_LIMIT - 3] + "..." if len(subject) > SUBJECT_LIMIT else subject,
        Message="\n".join(lines),
    )
    logger.info("reported", summary=summary)
