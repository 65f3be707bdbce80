"""`make docker-push-<env> SERVICE=...`: build a service's current sources on the environment's ARM CodeBuild.

Nothing is built on this machine and the platform is the project's own (linux/arm64): the build context is zipped,
uploaded to the environment's build-sources bucket and built by the service's CodeBuild project, which pushes
`<repository>:<content tag>`. When that tag is already in the repository nothing is built.

Prints `image:` and `digest:` and exits 0 when the image exists, 1 when the build fails or times out (it is then
stopped), 2 when an argument, cdk.json, the credentials or the deployed stack do not allow a build (one line on
stderr, starting `docker-push: `).
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from argparse import ArgumentTypeError
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graviton_app import naming
from graviton_app.naming import DOCKER_ROOT
from graviton_commands import aws
from graviton_commands.cli import CommandParser, Refusal
from graviton_commands.deployed_stack import StackNotDeployed, UnreadableStack, read_stack
from graviton_commands.settings import configured, read_settings

if TYPE_CHECKING:
    from graviton_app.config import EnvironmentConfig, ServiceConfig

PREFIX = "docker-push"
DEFAULT_POLL_SECONDS = 10.0


def checked_dockerfile(root: Path, service: ServiceConfig, dockerfile: str | None) -> str:
    """The Dockerfile's name inside the service folder: the service's own unless one is given."""
    name = dockerfile or service.dockerfile
    folder = root / service.source_dir
    if "/" in name or name in {".", ".."} or not (folder / name).is_file():
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and "dockerfile" in p.name.lower())
        raise Refusal(
            f"dockerfile '{name}' does not exist in {DOCKER_ROOT}/{service.folder}/;"
            f" available: {', '.join(found) or 'none'}"
        )
    return name


def required_outputs(service: ServiceConfig) -> dict[str, str]:
    """What docker-push needs -> the stack output that holds it."""
    return {
        "bucket": naming.OUTPUT_SOURCES_BUCKET,
        "project": naming.output_key(service.name, naming.OUTPUT_BUILD_PROJECT),
        "repository_uri": naming.output_key(service.name, naming.OUTPUT_REPOSITORY_URI),
    }


def stack_outputs(cloudformation: Any, environment: str, service: ServiceConfig) -> dict[str, str]:
    """The deployed stack's values for `service`, from its outputs or its nested stacks'; refused when the stack or
    an output is missing (naming the nested stacks that could not be read, the service's own first)."""
    stack = naming.stack_name(environment)
    try:
        deployed = read_stack(cloudformation, stack)
    except StackNotDeployed:
        raise Refusal(f"stack {stack} is not deployed; run make deploy ENV={environment} first") from None
    values = {}
    for what, key in required_outputs(service).items():
        if not deployed.outputs.get(key):
            missing = f"stack {stack} ({deployed.status}) has no output '{key}' for service '{service.name}'"
            if deployed.unreadable:
                raise Refusal(f"{missing}; {_unreadable_line(deployed.unreadable, service)}")
            raise Refusal(f"{missing}; run make deploy ENV={environment} first")
        values[what] = deployed.outputs[key]
    return values


def _unreadable_line(unreadable: Sequence[UnreadableStack], service: ServiceConfig) -> str:
    """The nested stack that could not be read and may hold the output: the service's own first (its logical id
    starts with the service's id, as its construct ids do), and how many more there are."""
    own = [stack for stack in unreadable if stack.logical_id.startswith(naming.service_id(service.name))]
    first = (own or list(unreadable))[0]
    more = len(unreadable) - 1
    return first.describe() + (f" (and {more} more nested stack(s))" if more else "")


def follow_build(
    codebuild: Any,
    ecr: Any,
    props: Any,
    build_id: str,
    *,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda line: print(f"{PREFIX}: {line}", file=sys.stderr, flush=True),
) -> str:
    """Poll the build until it ends; return the pushed digest, or raise BuildFailedError (stopping it on timeout)."""
    from graviton.image_build.runtime.image_build_contract import settle, with_retry

    started = clock()
    phase = None
    while True:
        sleep(poll_seconds)
        build = with_retry(lambda: codebuild.batch_get_builds(ids=[build_id]))["builds"][0]
        elapsed = clock() - started
        if build.get("currentPhase") != phase:
            phase = build.get("currentPhase")
            progress(f"[{int(elapsed)}s] {phase}")
        digest = settle(codebuild, ecr, props, build, elapsed)
        if digest:
            return digest


def push(
    root: Path,
    environment: str,
    settings: EnvironmentConfig,
    service: ServiceConfig,
    dockerfile: str,
    *,
    poll_seconds: float,
) -> int:
    """Build avoidance, upload, build, wait; prints `image:` and `digest:` on success."""
    from graviton.image_build.runtime.image_build_contract import (
        BuildFailedError,
        ImageBuildProperties,
        existing_digest,
        logs_link,
        start_build_request,
        with_retry,
    )
    from graviton.image_build.source import image_tag, zip_context

    connection = aws.connect(environment, region=settings.region, account=settings.account)
    clients = {name: connection.client(name) for name in ("cloudformation", "s3", "codebuild", "ecr")}
    outputs = stack_outputs(clients["cloudformation"], environment, service)
    source_dir = root / service.source_dir
    tag = image_tag(source_dir, dockerfile=dockerfile, build_args=service.build_args)
    key = f"{naming.build_id(service.name)}/{tag}.zip"  # the build role may read only its own prefix
    repository_uri = outputs["repository_uri"]
    props = ImageBuildProperties(
        project_name=outputs["project"],
        repository_name=repository_uri.partition("/")[2],  # the name may hold '/', the registry host never does
        repository_uri=repository_uri,
        image_tag=tag,
        source_location=f"{outputs['bucket']}/{key}",
        timeout_seconds=settings.image_build_timeout_minutes * 60,
    )
    try:
        digest = with_retry(lambda: existing_digest(clients["ecr"], props))
    except BuildFailedError as err:  # a stray candidate tag on the image that could not be removed
        print(f"docker-push: {err}", file=sys.stderr)
        return 1
    if digest:
        print(f"docker-push: {repository_uri}:{tag} is already in the repository; nothing to build", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory(prefix="docker-push-") as scratch:
            archive = zip_context(source_dir, Path(scratch) / f"{tag}.zip")
            body = archive.read_bytes()
        with_retry(lambda: clients["s3"].put_object(Bucket=outputs["bucket"], Key=key, Body=body))
        print(f"docker-push: uploaded the context to s3://{outputs['bucket']}/{key}", file=sys.stderr)
        # The build args this tag names, whatever the deployed project holds; a fresh token per run.
        request = start_build_request(
            props, idempotency_token=str(uuid.uuid4()), dockerfile=dockerfile, build_args=service.build_args
        )
        build = with_retry(lambda: clients["codebuild"].start_build(**request))["build"]
        print(f"docker-push: build {build['id']} started for {tag}; logs: {logs_link(build)}", file=sys.stderr)
        try:
            digest = follow_build(clients["codebuild"], clients["ecr"], props, build["id"], poll_seconds=poll_seconds)
        except BuildFailedError as err:
            print(f"docker-push: {' '.join(str(err).split())}", file=sys.stderr)  # a log context may hold newlines
            return 1
        except KeyboardInterrupt:
            print(f"docker-push: interrupted; build {build['id']} keeps running: {logs_link(build)}", file=sys.stderr)
            return 130
    print(f"image: {repository_uri}:{tag}")
    print(f"digest: {digest}")
    return 0


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ArgumentTypeError(f"'{value}' is not a number of seconds above 0")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        prog="python -m graviton_commands.docker_push", description=__doc__.splitlines()[0], prefix=PREFIX
    )
    parser.add_argument("environment", metavar="ENV", help="an environment configured in cdk.json: dev, test or prod")
    parser.add_argument("service", metavar="SERVICE", help="a service's name from cdk.json")
    parser.add_argument(
        "dockerfile", metavar="DOCKERFILE", nargs="?", help="a Dockerfile in docker/<folder>/ (default: the service's)"
    )
    parser.add_argument(
        "--poll-seconds",
        type=_positive_seconds,
        default=DEFAULT_POLL_SECONDS,
        help=f"how often to ask CodeBuild about the running build (default: {DEFAULT_POLL_SECONDS:g})",
    )
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        config = read_settings(root, args.context).config
        settings, service = configured(config, environment=args.environment, service=args.service)
        if settings.images_from:
            raise Refusal(
                f"environment '{args.environment}' runs the images {settings.images_from} builds (images_from);"
                f" build there: make docker-push-{settings.images_from} SERVICE={args.service}"
            )
        dockerfile = checked_dockerfile(root, service, args.dockerfile)
        return push(root, args.environment, settings, service, dockerfile, poll_seconds=args.poll_seconds)
    except Refusal as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
    except aws.client_errors() as err:
        print(f"{PREFIX}: {aws.aws_error(err)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PREFIX}: interrupted before a build started", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
