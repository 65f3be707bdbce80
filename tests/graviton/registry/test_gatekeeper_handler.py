"""The registry gatekeeper's handler against botocore's Stubber: every AWS call it makes is scripted here, and the
config blob comes from the recorded fixtures instead of the network."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import gatekeeper_handler as handler
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from gatekeeper_contract import ENV_ACTION, ENV_TOPIC_ARN, quarantine_tag
from image_manifest import ACCEPTED_MEDIA_TYPES

FIXTURES = Path(__file__).with_name("fixtures")
ACCOUNT = "123456789012"
REPOSITORY = "graviton-guarantee-dev-api"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:DevStack-AlarmsTopic3A2DFEBA-x1y2z3"
LAYER_BUCKET = "https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"
CANDIDATE = "candidate-5d2c6f5e-0000-4000-8000-000000000001"  # what our buildspec pushes first


@dataclass(frozen=True)
class Image:
    """A recorded manifest as ECR stores it: its exact text, media type and digest (sha256 of the text)."""

    manifest: str
    media_type: str
    digest: str

    @classmethod
    def load(cls, name: str) -> Image:
        data = (FIXTURES / name).read_bytes()
        return cls(data.decode(), json.loads(data)["mediaType"], "sha256:" + hashlib.sha256(data).hexdigest())

    @property
    def config_digest(self) -> str:
        return json.loads(self.manifest)["config"]["digest"]


ARM64 = Image.load("docker-v2-arm64.json")
OCI_ARM64 = Image.load("oci-arm64.json")
AMD64 = Image.load("docker-v2-amd64.json")
INDEX = Image.load("oci-index-with-attestation.json")
# The config blobs ECR would hand out, by digest.
BLOBS = {
    "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(): path.read_bytes()
    for path in FIXTURES.glob("config-*.json")
}


@dataclass
class LambdaContext:
    function_name: str = "registry-gatekeeper"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:registry-gatekeeper"
    aws_request_id: str = "request-1"


@dataclass
class Aws:
    ecr: Stubber
    sns: Stubber
    published: list[dict]
    fetched: list[str]


@pytest.fixture
def aws(monkeypatch):
    """Stubbed (ecr, sns) clients and a fake HTTPS GET; the test fails if a scripted call is left unmade."""
    keys = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    ecr, sns = boto3.client("ecr", **keys), boto3.client("sns", **keys)
    monkeypatch.setattr(handler, "clients", lambda: (ecr, sns))
    monkeypatch.setenv(ENV_ACTION, "quarantine")
    monkeypatch.setenv(ENV_TOPIC_ARN, TOPIC)
    published: list[dict] = []
    sns.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: published.append(dict(params)))
    fetched: list[str] = []

    def fake_get(url: str) -> bytes:  # no network: the presigned URL names the blob's digest
        fetched.append(url)
        return BLOBS[url.rsplit("/", 1)[-1].split("?")[0]]

    monkeypatch.setattr(handler, "http_get", fake_get)
    with Stubber(ecr) as ecr_stub, Stubber(sns) as sns_stub:
        yield Aws(ecr_stub, sns_stub, published, fetched)
        ecr_stub.assert_no_pending_responses()
        sns_stub.assert_no_pending_responses()


def push_event(image: Image, tag: str | None = "latest", repository: str = REPOSITORY) -> dict:
    """ECR's "ECR Image Action" event for a finished push, in the shape EventBridge delivers it."""
    detail = {"result": "SUCCESS", "repository-name": repository, "image-digest": image.digest, "action-type": "PUSH"}
    if tag is not None:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": "13cde686-328b-6117-af20-0e5566167482",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-05-04T09:13:02Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def url_of(digest: str) -> str:
    return f"{LAYER_BUCKET}/{digest}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600"


def manifest_is_read(aws: Aws, image: Image) -> None:
    aws.ecr.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": REPOSITORY,
                    "imageId": {"imageDigest": image.digest},
                    "imageManifest": image.manifest,
                    "imageManifestMediaType": image.media_type,
                }
            ],
            "failures": [],
        },
        # By digest, with every type the check understands: ECR converts or refuses what it is not told it may send.
        {
            "repositoryName": REPOSITORY,
            "imageIds": [{"imageDigest": image.digest}],
            "acceptedMediaTypes": ACCEPTED_MEDIA_TYPES,
        },
    )


def config_is_read(aws: Aws, image: Image) -> None:
    digest = image.config_digest
    aws.ecr.add_response(
        "get_download_url_for_layer",
        {"downloadUrl": url_of(digest), "layerDigest": digest},
        {"repositoryName": REPOSITORY, "layerDigest": digest},
    )


def retagged(aws: Aws, image: Image) -> None:
    aws.ecr.add_response(
        "put_image",
        {
            "image": {
                "repositoryName": REPOSITORY,
                "imageId": {"imageDigest": image.digest, "imageTag": quarantine_tag(image.digest)},
            }
        },
        {
            "repositoryName": REPOSITORY,
            "imageManifest": image.manifest,  # the exact bytes that were checked
            "imageManifestMediaType": image.media_type,
            "imageTag": quarantine_tag(image.digest),
            "imageDigest": image.digest,
        },
    )


def tags_are(aws: Aws, image: Image, tags: list[str], status: str = "ACTIVE") -> None:
    aws.ecr.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": REPOSITORY,
                    "imageDigest": image.digest,
                    "imageTags": tags,
                    "imagePushedAt": datetime(2026, 5, 4, 9, 13, tzinfo=UTC),
                    "imageStatus": status,
                }
            ]
        },
        {"repositoryName": REPOSITORY, "imageIds": [{"imageDigest": image.digest}]},
    )


def tags_removed(aws: Aws, tags: list[str], failures: list[dict] | None = None) -> None:
    ids = [{"imageTag": tag} for tag in tags]
    aws.ecr.add_response(
        "batch_delete_image",
        {"failures": failures} if failures else {"imageIds": ids, "failures": []},
        {"repositoryName": REPOSITORY, "imageIds": ids},
    )


def archived(aws: Aws, image: Image) -> None:
    aws.ecr.add_response(
        "update_image_storage_class",
        {
            "registryId": ACCOUNT,
            "repositoryName": REPOSITORY,
            "imageId": {"imageDigest": image.digest},
            "imageStatus": "ARCHIVED",
        },
        {"repositoryName": REPOSITORY, "imageId": {"imageDigest": image.digest}, "targetStorageClass": "ARCHIVE"},
    )


def reported(aws: Aws) -> None:
    aws.sns.add_response("publish", {"MessageId": "m-1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY})


def fields(message: str) -> dict[str, str]:
    """The message's `name: value` lines."""
    return dict(line.split(": ", 1) for line in message.splitlines()[2:])


@pytest.mark.parametrize("image", [ARM64, OCI_ARM64], ids=["docker-v2", "oci"])
def test_an_arm64_image_passes_untouched_and_unreported(aws, image):
    manifest_is_read(aws, image)
    config_is_read(aws, image)
    # Nothing else is scripted: a put_image, batch_delete_image or publish would fail the test.
    assert handler.handle(push_event(image), LambdaContext()) == {"outcome": "passed", "found": "linux/arm64/v8"}
    assert aws.fetched == [url_of(image.config_digest)]
    assert aws.published == []


def test_our_builds_candidate_push_is_checked_and_passes(aws):
    manifest_is_read(aws, ARM64)
    config_is_read(aws, ARM64)
    assert handler.handle(push_event(ARM64, tag=CANDIDATE), LambdaContext())["outcome"] == "passed"


def test_an_amd64_image_is_quarantined_and_reported_once(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["latest"])
    retagged(aws, AMD64)  # the quarantine tag before any removal: removing an image's last tag would delete it
    tags_removed(aws, ["latest"])
    archived(aws, AMD64)
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext()) == {"outcome": "quarantined", "found": "linux/amd64"}
    (message,) = aws.published
    assert message["Subject"] == f"Registry gatekeeper quarantined {REPOSITORY}:latest"
    assert fields(message["Message"]) == {
        "repository": REPOSITORY,
        "tag": "latest",
        "digest": AMD64.digest,
        "found": "linux/amd64 (its config says linux/amd64, not linux/arm64)",
        "done": f"tagged {quarantine_tag(AMD64.digest)}; removed tag(s) latest; archived it (pulls fail until someone restores it)",
    }


def test_every_other_tag_of_the_image_is_removed_not_only_the_pushed_one(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["v2", "latest"])
    retagged(aws, AMD64)
    tags_removed(aws, ["latest", "v2"])
    archived(aws, AMD64)
    reported(aws)
    assert handler.handle(push_event(AMD64, tag="v2"), LambdaContext())["outcome"] == "quarantined"
    assert "removed tag(s) latest, v2" in fields(aws.published[0]["Message"])["done"]


def test_an_index_is_quarantined_without_reading_a_config(aws):
    manifest_is_read(aws, INDEX)
    tags_are(aws, INDEX, ["multi"])
    retagged(aws, INDEX)  # put back with the index's own media type
    tags_removed(aws, ["multi"])
    archived(aws, INDEX)
    reported(aws)
    assert handler.handle(push_event(INDEX, tag="multi"), LambdaContext()) == {
        "outcome": "quarantined",
        "found": "index",
    }
    assert aws.fetched == []
    found = fields(aws.published[0]["Message"])["found"]
    assert found.startswith("index (an image index (linux/amd64, linux/arm64 and 2 attestation(s))")


def test_delete_mode_deletes_the_image_by_digest(aws, monkeypatch):
    monkeypatch.setenv(ENV_ACTION, "delete")
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    aws.ecr.add_response(
        "batch_delete_image",
        {"imageIds": [{"imageDigest": AMD64.digest, "imageTag": "latest"}], "failures": []},
        {"repositoryName": REPOSITORY, "imageIds": [{"imageDigest": AMD64.digest}]},
    )
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "deleted"
    (message,) = aws.published
    assert message["Subject"] == f"Registry gatekeeper deleted {REPOSITORY}:latest"
    assert fields(message["Message"])["done"] == "deleted the image and every tag on it"


def test_the_push_event_of_its_own_quarantine_tag_is_ignored(aws):
    # No call is scripted: reading the image, re-tagging or reporting would fail the test.
    event = push_event(AMD64, tag=quarantine_tag(AMD64.digest))
    assert handler.handle(event, LambdaContext()) == {"outcome": "ignored", "found": ""}
    assert aws.published == []


def test_a_tag_that_only_looks_like_a_quarantine_tag_is_checked(aws):
    # Only the exact tag the handler writes for this digest is its own; anyone could push `quarantined-x`.
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["quarantined-x"])
    retagged(aws, AMD64)
    tags_removed(aws, ["quarantined-x"])
    archived(aws, AMD64)
    reported(aws)
    assert handler.handle(push_event(AMD64, tag="quarantined-x"), LambdaContext())["outcome"] == "quarantined"


def test_a_push_by_digest_without_a_tag_is_checked_too(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, [])
    retagged(aws, AMD64)
    archived(aws, AMD64)
    reported(aws)
    assert handler.handle(push_event(AMD64, tag=None), LambdaContext())["outcome"] == "quarantined"
    message = aws.published[0]
    assert message["Subject"].startswith(f"Registry gatekeeper quarantined {REPOSITORY}@sha256:")
    assert len(message["Subject"]) <= 100
    assert fields(message["Message"])["tag"] == "(none: pushed by digest)"
    assert "no other tag to remove" in fields(message["Message"])["done"]


def test_a_failure_to_read_the_manifest_is_reported_not_dropped(aws):
    aws.ecr.add_client_error("batch_get_image", "AccessDeniedException", "not authorized to perform ecr:BatchGetImage")
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext()) == {"outcome": "unchecked", "found": "unreadable"}
    (message,) = aws.published
    assert message["Subject"] == f"Registry gatekeeper could not check {REPOSITORY}:latest"
    details = fields(message["Message"])
    assert details["digest"] == AMD64.digest
    assert "AccessDeniedException: not authorized to perform ecr:BatchGetImage" in details["found"]
    assert details["done"].startswith("nothing, the image is left as it was; check it by hand: aws ecr batch-get-image")


def test_an_image_ecr_no_longer_has_is_reported_with_ecrs_reason(aws):
    aws.ecr.add_response(
        "batch_get_image",
        {
            "images": [],
            "failures": [
                {
                    "imageId": {"imageDigest": AMD64.digest},
                    "failureCode": "ImageNotFound",
                    "failureReason": "Requested image not found",
                }
            ],
        },
    )
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "unchecked"
    assert "ImageNotFound Requested image not found" in fields(aws.published[0]["Message"])["found"]


def test_a_config_blob_that_does_not_match_its_digest_is_not_trusted(aws, monkeypatch):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    # Whatever the URL served, an arm64 config under the amd64 image's config digest must not make it pass.
    monkeypatch.setattr(handler, "http_get", lambda url: (FIXTURES / "config-arm64.json").read_bytes())
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "unchecked"
    assert "does not match its digest" in fields(aws.published[0]["Message"])["found"]


def test_a_quarantine_that_stops_part_way_is_reported_with_what_was_done(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["latest"])
    retagged(aws, AMD64)
    tags_removed(
        aws,
        ["latest"],
        failures=[{"imageId": {"imageTag": "latest"}, "failureCode": "KmsError", "failureReason": "key disabled"}],
    )
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext()) == {"outcome": "failed", "found": "linux/amd64"}
    message = aws.published[0]
    assert message["Subject"] == f"Registry gatekeeper could not quarantine {REPOSITORY}:latest"
    assert fields(message["Message"])["done"] == (
        f"FAILED (KmsError key disabled) after: tagged {quarantine_tag(AMD64.digest)}. Finish it by hand."
    )


def test_a_retried_quarantine_finishes_what_an_earlier_invocation_started(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    # Tagged, untagged and archived already: nothing is put, removed or archived again.
    tags_are(aws, AMD64, [quarantine_tag(AMD64.digest)], status="ARCHIVED")
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "quarantined"
    assert fields(aws.published[0]["Message"])["done"] == (
        f"already tagged {quarantine_tag(AMD64.digest)}; no other tag to remove; already archived"
    )


def test_a_quarantine_tag_put_meanwhile_by_a_concurrent_invocation_is_fine(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["latest"])
    aws.ecr.add_client_error("put_image", "ImageAlreadyExistsException", "tag and digest already exist")
    tags_removed(aws, ["latest"])
    archived(aws, AMD64)
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "quarantined"


def test_an_image_that_cannot_be_archived_is_still_quarantined_and_says_so(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["latest"])
    retagged(aws, AMD64)
    tags_removed(aws, ["latest"])
    aws.ecr.add_client_error(
        "update_image_storage_class", "ImageStorageClassUpdateNotSupportedException", "not supported"
    )
    reported(aws)
    assert handler.handle(push_event(AMD64), LambdaContext())["outcome"] == "quarantined"
    message = aws.published[0]
    assert message["Subject"] == f"Registry gatekeeper quarantined (not archived) {REPOSITORY}:latest"
    assert fields(message["Message"])["done"].endswith(
        "archiving FAILED (ImageStorageClassUpdateNotSupportedException: not supported): it can still be pulled"
        f" by digest or by {quarantine_tag(AMD64.digest)}"
    )


def test_a_report_sns_refuses_fails_the_invocation_so_lambda_retries_it(aws):
    manifest_is_read(aws, AMD64)
    config_is_read(aws, AMD64)
    tags_are(aws, AMD64, ["latest"])
    retagged(aws, AMD64)
    tags_removed(aws, ["latest"])
    archived(aws, AMD64)
    aws.sns.add_client_error("publish", "KMSDisabledException", "key disabled")
    with pytest.raises(ClientError, match="KMSDisabledException"):
        handler.handle(push_event(AMD64), LambdaContext())


def test_an_unknown_action_is_refused_before_anything_is_touched(aws, monkeypatch):
    monkeypatch.setenv(ENV_ACTION, "ignore")
    with pytest.raises(ValueError, match="GATEKEEPER_ACTION is 'ignore', not one of quarantine, delete"):
        handler.handle(push_event(AMD64), LambdaContext())


def test_the_config_is_fetched_over_https_only():
    with pytest.raises(handler.GatekeeperError, match="not HTTPS"):
        handler.http_get("http://prod-eu-west-1-starport-layer-bucket.s3.amazonaws.com/x")


def test_the_quarantine_tag_is_a_valid_docker_tag_named_after_the_digest():
    tag = quarantine_tag(AMD64.digest)
    assert tag == "quarantined-" + AMD64.digest.removeprefix("sha256:")
    assert len(tag) <= 128 and tag.replace("-", "").isalnum()


@pytest.mark.parametrize("name", ["docker-v2-arm64.json", "docker-v2-amd64.json", "oci-arm64.json"])
def test_the_recorded_manifests_name_their_config_blobs_by_digest_and_size(name):
    manifest = json.loads((FIXTURES / name).read_text())
    blob = BLOBS[manifest["config"]["digest"]]
    assert manifest["config"]["size"] == len(blob)
    assert json.loads(blob)["os"] == "linux"
