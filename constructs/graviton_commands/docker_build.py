"""`make docker-build [ARCH=amd64|arm64] [SERVICE=...]`: a local test build with this machine's Docker, never pushed.

Runs `docker buildx build --load` with this machine's Docker into the local image store under a tag without a
registry host (`<project>-<service>:local-<arch>`), so the image cannot be pushed by accident, then prints how to run
it with the Lambda runtime interface emulator. Deployable images come only from the ARM CodeBuild builds
(`make deploy`, `make docker-push-<env>`). Exits with docker's status, or 2 with one `docker-build: ` line on stderr
when an argument or the machine (no docker, or a Docker without the buildx plugin) does not allow the build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from graviton.constants import CONTAINER_PORT
from graviton_commands.cli import CommandParser, Refusal
from graviton_commands.docker_push import checked_dockerfile
from graviton_commands.settings import configured, read_settings

if TYPE_CHECKING:
    from graviton_app.config import ServiceConfig

PREFIX = "docker-build"

ARCHITECTURES = ("amd64", "arm64")
DEFAULT_ARCH = "arm64"
# The Lambda runtime interface emulator's invoke URL inside the AWS base images.
INVOKE_URL = "http://localhost:9000/2015-03-31/functions/function/invocations"
# The least an HTTP API (payload v2) event needs for `GET /arch` to route.
ARCH_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/arch",
    "rawQueryString": "",
    "headers": {},
    "requestContext": {
        "http": {"method": "GET", "path": "/arch", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
        "requestId": "local",
        "routeKey": "$default",
        "stage": "$default",
    },
    "isBase64Encoded": False,
}


# What to install when Docker has no buildx: Docker's apt package, or Docker Desktop, which bundles it.
BUILDX_INSTALL = (
    "install the buildx plugin: the docker-buildx-plugin package (Debian/Ubuntu, from Docker's apt repository),"
    " or Docker Desktop, which includes it"
)


def checked_docker() -> str:
    """The docker executable, refused in one line when it is missing or has no buildx plugin: a build would
    otherwise end in Docker's own `unknown flag: --platform`."""
    docker = shutil.which("docker")
    if docker is None:
        raise Refusal("'docker' is not on PATH; install Docker with buildx to build locally")
    try:
        found = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise Refusal(f"'{docker} buildx version' did not run ({type(err).__name__}); {BUILDX_INSTALL}") from None
    if found.returncode != 0:
        said = " ".join((found.stderr or found.stdout).split()) or f"exit status {found.returncode}"
        raise Refusal(f"this Docker has no buildx plugin ('docker buildx version': {said}); {BUILDX_INSTALL}")
    return docker


def local_tag(project: str, service: ServiceConfig, arch: str) -> str:
    """No registry host, so `docker push` of it can only fail."""
    return f"{project}-{service.name}:local-{arch}"


def build_command(docker: str, service: ServiceConfig, dockerfile: str, arch: str, tag: str) -> list[str]:
    folder = service.source_dir
    return [
        docker,
        *("buildx", "build", "--platform", f"linux/{arch}", "--load"),
        *("-f", f"{folder}/{dockerfile}", "-t", tag, folder),
    ]


def run_hint(tag: str, service: ServiceConfig) -> str:
    """A Lambda image answers through the runtime emulator; a container service answers HTTP itself."""
    if "lambda" not in service.targets:
        url = f"http://localhost:{CONTAINER_PORT}/arch"
        return f"run it:  docker run -p {CONTAINER_PORT}:{CONTAINER_PORT} {tag}\ncall it: curl {url}"
    event = json.dumps(ARCH_EVENT, separators=(",", ":"))
    return f"run it:  docker run -p 9000:8080 {tag}\ncall it: curl -XPOST \"{INVOKE_URL}\" -d '{event}'"


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        prog="python -m graviton_commands.docker_build", description=__doc__.splitlines()[0], prefix=PREFIX
    )
    parser.add_argument(
        "service", metavar="SERVICE", nargs="?", help="a service's name from cdk.json (default: the first one)"
    )
    parser.add_argument(
        "--arch", default=DEFAULT_ARCH, help=f"{' or '.join(ARCHITECTURES)} (default: {DEFAULT_ARCH}, as deployed)"
    )
    parser.add_argument("--dockerfile", help="a Dockerfile in docker/<folder>/ (default: the service's)")
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        if args.arch not in ARCHITECTURES:
            raise Refusal(f"--arch '{args.arch}' is not allowed; allowed: {', '.join(ARCHITECTURES)}")
        config = read_settings(root, args.context).config
        _, service = configured(config, service=args.service)
        dockerfile = checked_dockerfile(root, service, args.dockerfile)
        docker = checked_docker()
    except Refusal as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return 2
    tag = local_tag(config.project, service, args.arch)
    command = build_command(docker, service, dockerfile, args.arch, tag)
    print(f"{PREFIX}: {' '.join(command)}", file=sys.stderr, flush=True)
    status = subprocess.run(command, cwd=root, check=False).returncode
    if status == 0:
        print(f"built {tag} for linux/{args.arch}: local only, never pushed")
        print(run_hint(tag, service))
    return status


if __name__ == "__main__":
    sys.exit(main())
