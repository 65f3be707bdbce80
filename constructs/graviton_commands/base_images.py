"""The base images a Dockerfile starts FROM, and their multi-arch index digests in the registry.

`make refresh-pins` pins every `FROM image:tag` as `FROM image:tag@sha256:...`, where the digest is the tag's
image index (the multi-arch list): the build's platform (linux/arm64 on Graviton CodeBuild) then picks the arm64
entry of exactly that index, and a new tag push upstream changes nothing until the next refresh. The digest is
read over the registry HTTP API (OCI distribution) with the anonymous token flow public registries use (ECR
Public, Docker Hub). Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from graviton_commands.cli import Refusal

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
ACCEPT_INDEX = ", ".join(INDEX_MEDIA_TYPES)
DOCKER_HUB = "docker.io"
# Docker Hub's API host differs from the name images use.
REGISTRY_API_HOSTS = {DOCKER_HUB: "registry-1.docker.io"}
TIMEOUT_SECONDS = 15

# `FROM [--flag=value ...] reference [AS name] [# comment]`; the instruction keyword is case-insensitive.
_FROM = re.compile(r"^(?P<lead>\s*FROM\s+(?:--\S+\s+)*)(?P<reference>\S+)(?P<rest>.*)$", re.IGNORECASE)
_STAGE_NAME = re.compile(r"\s+AS\s+(?P<name>\S+)", re.IGNORECASE)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageReference:
    """`public.ecr.aws/lambda/python:3.13@sha256:...` as registry, repository, tag and (when pinned) digest."""

    registry: str
    repository: str
    tag: str
    digest: str | None
    name: str  # as written, without tag and digest

    @property
    def pinned(self) -> str:
        """The reference a pinned FROM line carries: name, tag and digest."""
        return f"{self.name}:{self.tag}@{self.digest}" if self.digest else f"{self.name}:{self.tag}"


@dataclass(frozen=True)
class FromLine:
    """One FROM instruction that names an image in a registry (not `scratch`, not an earlier stage)."""

    number: int  # 1-based line number in the Dockerfile
    text: str
    image: ImageReference


def parse_reference(reference: str) -> ImageReference:
    """Split an image reference the way Docker does: a first component with `.` or `:` (or `localhost`) is the
    registry, anything else is on Docker Hub (one-component names under `library/`)."""
    rest, _, digest = reference.partition("@")
    if digest and not _DIGEST.match(digest):
        raise Refusal(f"'{reference}' has digest '{digest}'; allowed: sha256: and 64 lower-case hex digits")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon <= slash:
        raise Refusal(f"'{reference}' names no tag; name one (such as {rest}:3.13) so the pin knows what to follow")
    name, tag = rest[:colon], rest[colon + 1 :]
    first, _, path = name.partition("/")
    if path and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, path
    else:
        registry, repository = DOCKER_HUB, name if path else f"library/{name}"
    return ImageReference(registry=registry, repository=repository, tag=tag, digest=digest or None, name=name)


def read_dockerfile(path: Path, display: str) -> list[str]:
    """The Dockerfile's lines (ends kept), refused in one line when it cannot be read as text."""
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise Refusal(f"{display}: cannot read the Dockerfile ({reason})") from None


def from_lines(lines: list[str], display: str) -> Iterator[FromLine]:
    """Each FROM that names a registry image; `scratch` and earlier stages' names are skipped."""
    stages: set[str] = set()
    for number, text in enumerate(lines, start=1):
        match = _FROM.match(text)
        if not match:
            continue
        reference = match["reference"]
        earlier_stage = reference.lower() in stages
        stage = _STAGE_NAME.match(match["rest"])
        if stage:
            stages.add(stage["name"].lower())
        if reference.lower() == "scratch" or earlier_stage:
            continue
        if "$" in reference:
            raise Refusal(f"{display}:{number}: FROM {reference} uses a build argument; name the image itself")
        try:
            image = parse_reference(reference)
        except Refusal as err:
            raise Refusal(f"{display}:{number}: {err}") from None
        yield FromLine(number=number, text=text, image=image)


def pin_line(line: FromLine, digest: str) -> str:
    """The FROM line with the image pinned to `digest`; flags, `AS name` and comments kept as they are."""
    match = _FROM.match(line.text)
    assert match is not None
    image = line.image
    pinned = ImageReference(image.registry, image.repository, image.tag, digest, image.name).pinned
    return f"{match['lead']}{pinned}{match['rest']}{line.text[len(line.text.rstrip(chr(10))) :]}"


# --- the registry --------------------------------------------------------------------------------------------


class Registry:
    """Anonymous, read-only access to registries' manifests.

    :param endpoint: for tests only: send every request to this scheme and host (such as `http://127.0.0.1:5000`)
        instead of `https://<the image's registry>` (default: None, each image's own registry).
    """

    def __init__(self, *, endpoint: str | None = None) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self._tokens: dict[tuple[str, str], str] = {}

    def base_url(self, registry: str) -> str:
        return self.endpoint or f"https://{REGISTRY_API_HOSTS.get(registry, registry)}"

    def index_digest(self, image: ImageReference) -> str:
        """The digest of the tag's multi-arch index; refused when the tag is unknown, is a single image, or has
        no linux/arm64 entry."""
        shown = f"{image.name}:{image.tag}"
        url = f"{self.base_url(image.registry)}/v2/{image.repository}/manifests/{urllib.parse.quote(image.tag)}"
        head = self._request("HEAD", url, image, shown)
        media_type = head.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in INDEX_MEDIA_TYPES:
            raise Refusal(
                f"{shown} is not a multi-arch image index (its manifest is '{media_type or 'untyped'}'); name a"
                " multi-arch tag: the arm64 build and Lambda take the arm64 entry of an index"
            )
        body = self._request("GET", url, image, shown).body
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        announced = head.headers.get("Docker-Content-Digest")
        if announced and announced != digest:
            raise Refusal(f"{shown}: the registry announced {announced} but its index hashes to {digest}")
        platforms = {
            (entry.get("platform", {}).get("os"), entry.get("platform", {}).get("architecture"))
            for entry in json.loads(body).get("manifests", [])
        }
        if ("linux", "arm64") not in platforms:
            raise Refusal(f"{shown}: its index has no linux/arm64 image; name a tag built for arm64")
        return digest

    def _request(self, method: str, url: str, image: ImageReference, shown: str) -> _Response:
        scope_key = (image.registry, image.repository)
        for attempt in range(2):
            headers = {"Accept": ACCEPT_INDEX}
            if scope_key in self._tokens:
                headers["Authorization"] = f"Bearer {self._tokens[scope_key]}"
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(url, method=method, headers=headers), timeout=TIMEOUT_SECONDS
                ) as response:
                    return _Response(headers=response.headers, body=response.read())
            except urllib.error.HTTPError as err:
                challenge = err.headers.get("WWW-Authenticate", "")
                if err.code == 401 and attempt == 0 and challenge.lower().startswith("bearer "):
                    self._tokens[scope_key] = self._token(challenge, image, shown)
                    continue
                if err.code == 404:
                    raise Refusal(f"{shown}: the registry {image.registry} has no such tag (404)") from None
                raise Refusal(f"{shown}: the registry {image.registry} answered {err.code} {err.reason}") from None
            except (urllib.error.URLError, OSError) as err:
                reason = _in_words(err)
                raise Refusal(f"{shown}: registry {self.base_url(image.registry)} is unreachable ({reason})") from None
        raise Refusal(f"{shown}: the registry {image.registry} refused the anonymous pull token")

    def _token(self, challenge: str, image: ImageReference, shown: str) -> str:
        """The anonymous pull token the `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge names."""
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise Refusal(f"{shown}: the registry {image.registry} sent a token challenge without a realm")
        params.setdefault("scope", f"repository:{image.repository}:pull")
        url = f"{realm}{'&' if '?' in realm else '?'}{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = _in_words(err)
            raise Refusal(f"{shown}: no pull token from {realm} ({reason})") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise Refusal(f"{shown}: {realm} answered without a token")
        return str(token)


@dataclass(frozen=True)
class _Response:
    headers: Message
    body: bytes


def _in_words(err: Exception) -> str:
    """Why a request failed, in words: a URLError's reason, an OSError's text without its `[Errno N]`."""
    reason = getattr(err, "reason", err)
    return reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
