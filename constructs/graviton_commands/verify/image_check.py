"""ECR images: every active image of every repository the stack names or its workloads run must be a single image
whose config says linux/arm64.

The repositories: the stack's AWS::ECR::Repository resources, its `<Service>RepositoryUri` outputs, and those of the
images its functions and tasks run and its `<Service>ImageUri` outputs name (for a promoted environment, the
building environment's). An arm64 function or task cannot start an x86 image, and Lambda refuses an index, so an
index, an artifact or another platform fails. Only what can be pulled is checked: archived images cannot be, and
DescribeImages does not list them. The manifest logic is `graviton.registry.runtime.image_manifest`, which the
registry gatekeeper's Lambda applies to every push; the config blob is downloaded here, its digest checked.

With `--deep`, an arm64 image's layers are downloaded too and scanned as the ARM build scans an image before it
pushes (`graviton.image_build.layer_scan`, ELF headers only): an ELF file for another machine than aarch64 in the
image's filesystem fails the image, naming the first paths.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, cast

from graviton.image_build.layer_scan import LAYER_MEDIA_TYPES, SHOWN, Layer, ScanError, foreign, merge, scan_layer
from graviton.registry.runtime import image_manifest
from graviton_app.naming import OUTPUT_IMAGE_URI, OUTPUT_REPOSITORY_URI
from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.model import (
    BATCH,
    CANNOT_CHECK,
    NETWORK_ERRORS,
    OK,
    WRONG,
    CannotCheck,
    ImageRef,
    Repo,
    Row,
    network_reason,
)
from graviton_commands.verify.stack import Aws

CHECK_IMAGE = "ECR image"
EXPECTED_IMAGE = "linux/arm64"
# An image config is a few KiB: anything far larger is not one.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Config blobs are fetched in parallel: one presigned URL and one GET per image.
IMAGE_WORKERS = 8


def download_url(ecr: Any, repo: Repo, digest: str, *, what: str) -> str:
    """ECR's presigned URL for one blob of the repository (a config or a layer)."""
    try:
        answer = ecr.get_download_url_for_layer(registryId=repo.registry, repositoryName=repo.name, layerDigest=digest)
    except client_errors() as err:
        raise CannotCheck(f"{what} {digest}: {aws_error(err)}") from None
    return str(answer["downloadUrl"])


def fetch_config(ecr: Any, repo: Repo, digest: str, *, timeout: float) -> Any:
    """An image's config blob: ECR's presigned URL for it, one GET, its sha256 checked against `digest`."""
    url = download_url(ecr, repo, digest, what="config")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(MAX_CONFIG_BYTES + 1)
    except NETWORK_ERRORS as err:
        raise CannotCheck(f"config {digest}: download failed ({network_reason(err)})") from None
    if len(body) > MAX_CONFIG_BYTES:
        raise CannotCheck(f"config {digest}: larger than {MAX_CONFIG_BYTES} bytes, not an image config")
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise CannotCheck(f"config {digest}: the downloaded blob does not match its digest")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CannotCheck(f"config {digest}: not JSON") from None


class _Digesting:
    """A download read as a stream, hashed as it goes, so the scanned bytes are the ones the digest names."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data

    def digest(self) -> str:
        while self.read(1024 * 1024):  # what tar's end left unread
            pass
        return "sha256:" + self.sha256.hexdigest()


def fetch_layer(ecr: Any, repo: Repo, digest: str, *, timeout: float) -> Layer:
    """One layer blob: ECR's presigned URL for it, one streamed GET, its ELF headers read and its sha256 checked."""
    url = download_url(ecr, repo, digest, what="layer")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            stream = _Digesting(response)
            layer = scan_layer(cast(IO[bytes], stream))
            downloaded = stream.digest()
    except ScanError as err:
        raise CannotCheck(f"layer {digest}: {err}") from None
    except NETWORK_ERRORS as err:
        raise CannotCheck(f"layer {digest}: download failed ({network_reason(err)})") from None
    if downloaded != digest:
        raise CannotCheck(f"layer {digest}: the downloaded blob does not match its digest")
    return layer


def foreign_files(
    fetch: Callable[[str], Layer], manifest_text: str, cache: dict[str, Layer], lock: threading.Lock
) -> list[tuple[str, str]]:
    """(path, machine) of the image's ELF files that are not aarch64, its layers applied bottom first; a layer
    several images share is downloaded once (`cache`)."""
    layers = []
    for entry in json.loads(manifest_text).get("layers", []):
        if not str(entry.get("mediaType", "")).startswith(LAYER_MEDIA_TYPES):
            continue
        with lock:
            layer = cache.get(entry["digest"])
        if layer is None:
            layer = fetch(entry["digest"])
            with lock:
                cache[entry["digest"]] = layer
        layers.append(layer)
    return foreign(merge(layers))


def image_rows(aws: Aws) -> list[Row]:
    """Every image in every repository the stack names or its workloads run: one linux/arm64 image each."""
    repos: dict[Repo, None] = {}
    for name in aws.physical_ids("AWS::ECR::Repository"):
        repos[Repo(aws.account, aws.region, name)] = None
    for value in aws.outputs_ending(OUTPUT_REPOSITORY_URI).values():
        ref = ImageRef.parse(value)
        if ref:
            repos[ref.repo] = None
    for key, value in aws.outputs_ending(OUTPUT_IMAGE_URI).items():
        aws.refer(value, f"output {key}")
    for ref in aws.references:
        repos[ref.repo] = None
    rows = [
        Row(CHECK_IMAGE, uri, EXPECTED_IMAGE, "-", CANNOT_CHECK, f"not a private ECR image; run by {', '.join(who)}")
        for uri, who in aws.foreign.items()
    ]
    for repo in repos:
        rows += repository_rows(aws, repo)
    return rows


def repository_rows(aws: Aws, repo: Repo) -> list[Row]:
    """Each active image of one repository (what can be pulled), newest first, then the images workloads run that
    it does not hold."""
    ecr = aws.client("ecr", repo.region)
    ids = {"registryId": repo.registry, "repositoryName": repo.name}
    try:
        details = [
            detail
            for page in ecr.get_paginator("describe_images").paginate(**ids)
            for detail in page.get("imageDetails", [])
        ]
    except client_errors() as err:
        return [Row(CHECK_IMAGE, repo.name, EXPECTED_IMAGE, "-", CANNOT_CHECK, aws_error(err))]
    details.sort(key=lambda d: str(d.get("imagePushedAt", "")), reverse=True)
    aws.progress(f"ECR {repo.name}: {len(details)} image(s)")
    manifests: dict[str, tuple[str, str | None]] = {}
    failures: dict[str, str] = {}
    for start in range(0, len(details), BATCH):
        chunk = [{"imageDigest": d["imageDigest"]} for d in details[start : start + BATCH]]
        try:
            answer = ecr.batch_get_image(**ids, imageIds=chunk, acceptedMediaTypes=image_manifest.ACCEPTED_MEDIA_TYPES)
        except client_errors() as err:
            failures.update({image["imageDigest"]: aws_error(err) for image in chunk})
            continue
        for image in answer.get("images", []):
            manifests[image["imageId"]["imageDigest"]] = (image["imageManifest"], image.get("imageManifestMediaType"))
        for failure in answer.get("failures", []):
            digest = failure.get("imageId", {}).get("imageDigest")
            if digest:
                failures[digest] = f"BatchGetImage: {failure.get('failureCode')}: {failure.get('failureReason')}"
    references = {ref: who for ref, who in aws.references.items() if ref.repo == repo}
    layers: dict[str, Layer] = {}
    layers_lock = threading.Lock()
    if aws.deep:
        aws.progress(f"ECR {repo.name}: scanning the layers of {len(manifests)} image(s)")

    def judge(detail: Mapping[str, Any]) -> Row:
        digest = detail["imageDigest"]
        tags = sorted(detail.get("imageTags", []))
        # An untagged image by its short digest, as `docker images` shows ids: the detail holds the full one.
        resource = f"{repo.name}:{tags[0]}" if tags else f"{repo.name}@{digest[:19]}"
        runners = [who for ref, whos in references.items() if ref.matches(digest, tags) for who in whos]
        context = [f"run by {', '.join(runners)}"] if runners else []
        context.append(digest if tags else f"untagged {digest}")
        if digest not in manifests:
            reason = failures.get(digest, "BatchGetImage returned no manifest")
            return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, "-", CANNOT_CHECK, "; ".join([reason, *context]))
        text, media_type = manifests[digest]
        try:
            verdict = image_manifest.inspect(
                text,
                media_type or detail.get("imageManifestMediaType"),
                lambda config: fetch_config(ecr, repo, config, timeout=aws.timeout_seconds),
            )
        except CannotCheck as err:
            return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, "-", CANNOT_CHECK, "; ".join([str(err), *context]))
        why = [verdict.reason] if verdict.reason else []
        if verdict.ok and aws.deep:
            try:
                found = foreign_files(
                    lambda layer: fetch_layer(ecr, repo, layer, timeout=aws.timeout_seconds), text, layers, layers_lock
                )
            except CannotCheck as err:
                return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, "-", CANNOT_CHECK, "; ".join([str(err), *context]))
            if found:
                machines = ", ".join(sorted({name for _, name in found}))
                shown = ", ".join(f"{path} ({name})" for path, name in found[:SHOWN])
                more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
                why = [f"its config says {verdict.found} but {len(found)} ELF file(s) are not aarch64: {shown}{more}"]
                return Row(CHECK_IMAGE, resource, EXPECTED_IMAGE, f"{machines} files", WRONG, "; ".join(why + context))
        return Row(
            CHECK_IMAGE, resource, EXPECTED_IMAGE, verdict.found, OK if verdict.ok else WRONG, "; ".join(why + context)
        )

    with ThreadPoolExecutor(max_workers=IMAGE_WORKERS) as pool:
        rows = list(pool.map(judge, details))
    for ref, who in references.items():
        if not any(ref.matches(d["imageDigest"], d.get("imageTags", [])) for d in details):
            why = f"run by {', '.join(who)} but not among the repository's active images (expired, deleted, archived?)"
            rows.append(Row(CHECK_IMAGE, ref.label(), EXPECTED_IMAGE, "-", CANNOT_CHECK, why))
    return rows
