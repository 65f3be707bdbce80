"""refresh-pins: base images pinned to their index digest through a fake registry (token challenge, HEAD and GET of
manifests) on 127.0.0.1, `--check` without network, the lock it writes from uv's resolution, and its refusals."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support import ROOT, repo_context, run

from graviton_app.config import load_config
from graviton_commands.cli import Refusal
from graviton_commands.refresh_pins import LOCK_PLATFORM, compile_pylock, lock_text, service_sources

COMMAND = [sys.executable, "-m", "graviton_commands.refresh_pins"]
SERVICES = repo_context()["services"]
INDEX = "application/vnd.oci.image.index.v1+json"
SINGLE_IMAGE = "application/vnd.oci.image.manifest.v1+json"
_FROM = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


def index_body(*architectures: str) -> bytes:
    manifests = [
        {"mediaType": SINGLE_IMAGE, "digest": "sha256:" + str(n) * 64, "platform": {"os": "linux", "architecture": a}}
        for n, a in enumerate(architectures, start=1)
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}).encode()


@dataclass
class FakeRegistry:
    """An OCI registry that hands out anonymous pull tokens and serves the manifests put in `manifests`."""

    url: str = ""
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)  # (repository, tag) -> ...
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.answer(with_body=True)

        def do_HEAD(self) -> None:
            self.answer(with_body=False)

        def answer(self, *, with_body: bool) -> None:
            fake.requests.append((self.command, self.path, dict(self.headers)))
            path = urlsplit(self.path)
            if path.path == "/token":
                (scope,) = parse_qs(path.query)["scope"]
                return self.send(200, "application/json", json.dumps({"token": f"token-{scope}"}).encode(), True)
            match = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path.path)
            if not match:
                return self.send(404, "text/plain", b"not found", with_body)
            repository, tag = match.groups()
            if self.headers.get("Authorization") != f"Bearer token-repository:{repository}:pull":
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="{fake.url}/token",service="fake",scope="repository:{repository}:pull"',
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if (repository, tag) not in fake.manifests:
                return self.send(404, "application/json", b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', with_body)
            media_type, body = fake.manifests[repository, tag]
            return self.send(200, media_type, body, with_body, digest="sha256:" + hashlib.sha256(body).hexdigest())

        def send(self, status: int, media_type: str, body: bytes, with_body: bool, digest: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            if digest:
                self.send_header("Docker-Content-Digest", digest)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of cdk.json and every service's folder the command may change."""
    shutil.copy(ROOT / "cdk.json", tmp_path / "cdk.json")
    for service in SERVICES:
        folder = service["folder"]
        shutil.copytree(ROOT / "docker" / folder, tmp_path / "docker" / folder, dirs_exist_ok=True)
    return tmp_path


def dockerfiles(root: Path) -> list[Path]:
    """Every service's Dockerfile once, in the order the command reports them: folder by folder, as cdk.json first
    names each folder."""
    folders = list(dict.fromkeys(s["folder"] for s in SERVICES))
    return list(
        dict.fromkeys(
            root / "docker" / s["folder"] / s["dockerfile"] for f in folders for s in SERVICES if s["folder"] == f
        )
    )


def registry_images(dockerfile: Path | str) -> list[str]:
    """The FROM references that name an image (not an earlier stage), in a Dockerfile or its text."""
    text = dockerfile.read_text() if isinstance(dockerfile, Path) else dockerfile
    stages = {m.lower() for m in re.findall(r"^FROM\s.*\sAS\s+(\S+)", text, re.I | re.M)}
    return [reference for reference in _FROM.findall(text) if reference.lower() not in stages]


def repository_and_tag(reference: str) -> tuple[str, str]:
    """`public.ecr.aws/lambda/python:3.13` -> (`lambda/python`, `3.13`): the repository path the registry sees."""
    name, _, tag = reference.split("@")[0].rpartition(":")
    host, _, path = name.partition("/")
    return (path if path and ("." in host or ":" in host) else name if "/" in name else f"library/{name}"), tag


def serve_every_image(fake: FakeRegistry, root: Path, *architectures: str, media_type: str = INDEX) -> None:
    for dockerfile in dockerfiles(root):
        for reference in registry_images(dockerfile):
            body = index_body(*architectures)
            fake.manifests[repository_and_tag(reference)] = (media_type, body)


def digest_of(fake: FakeRegistry, reference: str) -> str:
    return "sha256:" + hashlib.sha256(fake.manifests[repository_and_tag(reference)][1]).hexdigest()


def refresh(root: Path, *args: str):
    return run([*COMMAND, "--root", str(root), *args])


def one_line_refusal(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("refresh-pins: ")
    return result.stderr


def test_every_from_line_is_pinned_to_its_tags_index_digest_keeping_stage_names_and_comments(registry, project):
    serve_every_image(registry, project, "amd64", "arm64")
    before = {path: path.read_text() for path in dockerfiles(project)}

    result = refresh(project, "--only", "images", "--registry-endpoint", registry.url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"refresh-pins: registry requests go to {registry.url}")
    for path, text in before.items():
        expected = text
        for reference in registry_images(text):
            expected = re.sub(
                rf"^(FROM\s+(?:--\S+\s+)*){re.escape(reference)}(?=\s|$)",
                rf"\g<1>{reference}@{digest_of(registry, reference)}",
                expected,
                flags=re.M | re.I,
            )
        assert expected != text
        assert path.read_text() == expected  # AS names, comments and every other line as they were
    manifest_requests = [headers for method, path, headers in registry.requests if "/manifests/" in path]
    assert {method for method, path, _ in registry.requests if "/manifests/" in path} == {"HEAD", "GET"}
    for headers in manifest_requests:
        accepted = {kind.strip() for kind in headers["Accept"].split(",")}
        assert {INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"} <= accepted
    assert any(path.startswith("/token?") for _, path, _ in registry.requests)  # the anonymous token flow

    check = refresh(project, "--check", "--only", "images")
    assert check.returncode == 0, check.stdout

    # A new index behind the same tag: the next refresh moves the pin.
    serve_every_image(registry, project, "arm64", "amd64")
    assert refresh(project, "--only", "images", "--registry-endpoint", registry.url).returncode == 0
    for path in dockerfiles(project):
        for reference in registry_images(path):
            assert reference.endswith(f"@{digest_of(registry, reference)}")


def test_check_reports_each_unpinned_from_line_without_asking_any_registry(registry, project):
    result = refresh(project, "--check", "--registry-endpoint", registry.url)

    assert result.returncode == 1, result.stdout + result.stderr
    unpinned = [(path, ref) for path in dockerfiles(project) for ref in registry_images(path) if "@" not in ref]
    assert unpinned
    lines = result.stdout.splitlines()
    assert len(lines) == len(unpinned)
    for line, (path, reference) in zip(lines, unpinned, strict=True):
        assert line.startswith(f"{path.relative_to(project)}:") and f"FROM {reference} has no digest" in line
    assert registry.requests == []


@pytest.mark.parametrize(
    "service",
    [s for s in SERVICES if (ROOT / "docker" / s["folder"] / "requirements.txt").is_file()],
    ids=lambda s: s["name"],
)
def test_check_reports_a_lock_that_is_missing_or_older_than_its_requirements(project, service):
    folder = project / "docker" / service["folder"]
    assert refresh(project, "--check", "--only", "locks").returncode == 0

    (folder / "requirements.txt").write_text((folder / "requirements.txt").read_text() + "idna==3.21\n")
    stale = refresh(project, "--check", "--only", "locks")
    assert stale.returncode == 1
    assert stale.stdout.splitlines() == [
        f"docker/{service['folder']}/requirements.lock is stale: requirements.txt or the base image's Python changed; run make refresh-pins"
    ]

    (folder / "requirements.lock").unlink()
    missing = refresh(project, "--check", "--only", "locks")
    assert missing.returncode == 1
    assert missing.stdout.splitlines() == [
        f"docker/{service['folder']}/requirements.lock is missing: run make refresh-pins"
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unreachable", r"registry http://127\.0\.0\.1:\d+ is unreachable"),
        ("unknown tag", r"has no such tag \(404\)"),
        ("single image", rf"is not a multi-arch image index \(its manifest is '{re.escape(SINGLE_IMAGE)}'\)"),
        ("no arm64", r"its index has no linux/arm64 image"),
        ("unreadable Dockerfile", r"cannot read the Dockerfile \(UnicodeDecodeError\)"),
        ("build argument", r":1: FROM \$\{BASE\} uses a build argument"),
        ("no tag", r":1: 'public\.ecr\.aws/lambda/python' names no tag"),
        ("bad endpoint", r"--registry-endpoint 'ftp://x' is not allowed"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(registry, project, case, expected):
    first = dockerfiles(project)[0]
    endpoint = registry.url
    if case == "unreachable":
        endpoint = f"http://127.0.0.1:{closed_port()}"
    elif case == "single image":
        serve_every_image(registry, project, "arm64", media_type=SINGLE_IMAGE)
    elif case == "no arm64":
        serve_every_image(registry, project, "amd64")
    elif case == "unreadable Dockerfile":
        first.write_bytes(b"FROM \xff\xfe\n")
    elif case == "build argument":
        first.write_text("FROM ${BASE}\n")
    elif case == "no tag":
        first.write_text("FROM public.ecr.aws/lambda/python\n")
    elif case == "bad endpoint":
        endpoint = "ftp://x"
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}

    result = refresh(project, "--only", "images", "--registry-endpoint", endpoint)

    assert re.search(expected, one_line_refusal(result)), result.stderr
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


# --- the locks: uv's resolution for the image's platform, written for pip --require-hashes -------------------------

FAKE_UV = """#!/usr/bin/env python3
# Logs its arguments and writes the pylock.toml the test gave it to --output-file, like uv pip compile.
import json, os, shutil, sys
with open(os.environ["FAKE_UV_LOG"], "a") as log:
    log.write(json.dumps([os.getcwd(), *sys.argv[1:]]) + "\\n")
shutil.copy(os.environ["FAKE_UV_PYLOCK"], sys.argv[sys.argv.index("--output-file") + 1])
"""
PYLOCK = """
lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "wrapt"
version = "2.5.2"
sdist = {{ url = "https://files.example/wrapt-2.5.2.tar.gz", hashes = {{ sha256 = "{sdist}" }} }}
wheels = [
    {{ url = "https://files.example/wrapt-2.5.2-cp313-cp313-manylinux_2_28_aarch64.whl", hashes = {{ sha256 = "{native}" }} }},
    {{ url = "https://files.example/wrapt-2.5.2-py3-none-any.whl", hashes = {{ sha256 = "{pure}" }} }},
]
[[packages]]
name = "anyio"
version = "4.16.0"
wheels = [{{ url = "https://files.example/anyio-4.16.0-py3-none-any.whl", hashes = {{ sha256 = "{anyio}" }} }}]
""".format(sdist="0" * 64, native="1" * 64, pure="2" * 64, anyio="3" * 64)


def test_uv_resolves_for_the_images_python_on_aarch64_and_a_lambda_service_without_dependencies(tmp_path, monkeypatch):
    fake_uv = tmp_path / "uv"
    fake_uv.write_text(FAKE_UV)
    fake_uv.chmod(0o755)
    (tmp_path / "pylock.toml").write_text(PYLOCK)
    monkeypatch.setenv("FAKE_UV_LOG", str(tmp_path / "uv.log"))
    monkeypatch.setenv("FAKE_UV_PYLOCK", str(tmp_path / "pylock.toml"))
    config = load_config(repo_context(), root=ROOT)

    for sources in service_sources(ROOT, config):
        if (sources.folder / "requirements.txt").is_file():
            assert compile_pylock(str(fake_uv), sources, "3.13")["packages"][0]["name"] == "wrapt"

    calls = [json.loads(line) for line in (tmp_path / "uv.log").read_text().splitlines()]
    assert calls
    for cwd, *argv in calls:
        service = next(s for s in config.services if Path(cwd) == ROOT / s.source_dir)
        assert argv[:3] == ["pip", "compile", "requirements.txt"]
        assert argv[argv.index("--python-platform") + 1] == LOCK_PLATFORM == "aarch64-manylinux_2_28"
        assert argv[argv.index("--python-version") + 1] == "3.13"
        assert argv[argv.index("--only-binary") + 1] == ":all:"
        assert ("--no-deps" in argv) == ("lambda" in service.targets)


def test_the_lock_has_a_hash_for_each_wheel_of_the_platform_named_below_it_and_no_sdist():
    import tomllib

    text = lock_text(tomllib.loads(PYLOCK), inputs="# inputs: x", python="3.13", no_deps=False, display="docker/x")

    body = text.split("# inputs: x\n")[1]
    assert body == (
        "anyio==4.16.0 \\\n"
        f"    --hash=sha256:{'3' * 64}\n"
        f"    # sha256:{'3' * 64} anyio-4.16.0-py3-none-any.whl\n"
        "wrapt==2.5.2 \\\n"
        f"    --hash=sha256:{'1' * 64} \\\n"
        f"    --hash=sha256:{'2' * 64}\n"
        f"    # sha256:{'1' * 64} wrapt-2.5.2-cp313-cp313-manylinux_2_28_aarch64.whl\n"
        f"    # sha256:{'2' * 64} wrapt-2.5.2-py3-none-any.whl\n"
    )
    assert "0" * 64 not in text  # pip may never fall back to compiling the sdist


def test_a_package_without_a_wheel_for_the_platform_is_refused():
    pylock = {"packages": [{"name": "native-only", "version": "1.0", "sdist": {"url": "x", "hashes": {}}}]}
    with pytest.raises(
        Refusal, match=r"docker/x: native-only==1.0 has no wheel for CPython 3.13 on aarch64-manylinux_2_28"
    ):
        lock_text(pylock, inputs="# inputs: x", python="3.13", no_deps=True, display="docker/x")
