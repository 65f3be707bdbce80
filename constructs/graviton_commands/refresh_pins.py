"""`make refresh-pins`: lock each service's requirements to hashed aarch64 wheels and pin its base images by digest.

For every service in cdk.json, `docker/<folder>/requirements.txt` is resolved with uv (pinned in
requirements-dev.txt) for the image's Python (read from the Dockerfile's `FROM .../python:3.X`) on Linux aarch64
(manylinux_2_28), wheels only, into `requirements.lock`: exact versions, and a `--hash` for every wheel of that
platform, each named in a comment below it. A Lambda service's lock holds exactly what its requirements.txt lists
(`--no-deps`): the runtime provides boto3 and botocore. Then every `FROM image:tag` of the services' Dockerfiles
is pinned to the tag's multi-arch index digest (`FROM image:tag@sha256:...`). Everything is resolved before
anything is written.

`--check` reads files only (no network): exit 1 with one line for each FROM without a digest and each lock
that is missing or older than its requirements.txt (or the Dockerfile's Python), 0 when all are pinned. Bad
input, an unreachable registry or index, an unknown tag or a tag that is not a multi-arch index: one line, exit 2.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graviton_commands.base_images import Registry, from_lines, pin_line, read_dockerfile
from graviton_commands.cli import EXIT_REFUSED, CommandParser, Refusal
from graviton_commands.settings import read_settings

if TYPE_CHECKING:
    from graviton_app.config import AppConfig

PREFIX = "refresh-pins"
PROG = "python -m graviton_commands.refresh_pins"
EXIT_STALE = 1

REQUIREMENTS = "requirements.txt"
LOCK = "requirements.lock"
# Graviton's wheels: glibc 2.28 or older covers both base images (Amazon Linux 2023's 2.34, Debian's newer).
LOCK_PLATFORM = "aarch64-manylinux_2_28"
# The base image's Python: `public.ecr.aws/lambda/python:3.13`, `.../library/python:3.13-slim`.
_IMAGE_PYTHON = re.compile(r"/python:(3\.\d+)")
_INPUTS = "# inputs: "


@dataclass(frozen=True)
class ServiceSources:
    """One service folder: its Dockerfiles (as cdk.json names them) and how its image installs requirements."""

    folder: Path
    display: str  # docker/<folder>
    dockerfiles: tuple[str, ...]
    no_deps: bool  # a Lambda image installs exactly what requirements.txt lists

    @property
    def requirements(self) -> Path:
        return self.folder / REQUIREMENTS

    @property
    def lock(self) -> Path:
        return self.folder / LOCK


def service_sources(root: Path, config: AppConfig) -> list[ServiceSources]:
    """Every configured service folder once, in cdk.json's order."""
    folders: dict[str, list[Any]] = {}
    for service in config.services:
        folders.setdefault(service.source_dir, []).append(service)
    return [
        ServiceSources(
            folder=root / source_dir,
            display=source_dir,
            dockerfiles=tuple(dict.fromkeys(service.dockerfile for service in services)),
            no_deps=any("lambda" in service.targets for service in services),
        )
        for source_dir, services in folders.items()
    ]


def image_python(sources: ServiceSources) -> str:
    """The Python version of the service's base images; refused unless its Dockerfiles agree on one."""
    versions = set()
    for dockerfile in sources.dockerfiles:
        display = f"{sources.display}/{dockerfile}"
        for line in from_lines(read_dockerfile(sources.folder / dockerfile, display), display):
            versions.update(_IMAGE_PYTHON.findall(f"/{line.image.name}:{line.image.tag}"))
    if len(versions) != 1:
        found = ", ".join(sorted(versions)) or "none"
        raise Refusal(
            f"{sources.display}: {REQUIREMENTS} needs one Python base image (FROM .../python:3.X) to lock for;"
            f" found: {found}"
        )
    return versions.pop()


def lock_inputs(sources: ServiceSources, python: str) -> str:
    """What the lock was made from; `--check` compares it with today's files."""
    digest = hashlib.sha256(sources.requirements.read_bytes()).hexdigest()
    mode = ", no-deps" if sources.no_deps else ""
    return f"{_INPUTS}{REQUIREMENTS} sha256:{digest}, python {python}, {LOCK_PLATFORM}{mode}"


def compile_pylock(uv: str, sources: ServiceSources, python: str) -> dict[str, Any]:
    """uv's resolution as a PEP 751 lock: with `--python-platform` it lists only the wheels of that platform."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "pylock.toml"
        command = [
            *(uv, "pip", "compile", REQUIREMENTS, "--format", "pylock.toml", "--quiet", "--no-header"),
            *("--python-platform", LOCK_PLATFORM, "--python-version", python, "--only-binary", ":all:"),
            *(["--no-deps"] if sources.no_deps else []),
            *("--output-file", str(output)),
        ]
        result = subprocess.run(command, cwd=sources.folder, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            reason = " ".join(lines[:3]) or f"exit {result.returncode}"
            raise Refusal(f"{sources.display}/{REQUIREMENTS}: uv pip compile failed: {reason}")
        return tomllib.loads(output.read_text())


def _file_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or urllib.parse.unquote(urllib.parse.urlsplit(entry["url"]).path.rsplit("/", 1)[-1]))


def lock_text(pylock: dict[str, Any], *, inputs: str, python: str, no_deps: bool, display: str) -> str:
    """requirements.lock for pip: `name==version`, a `--hash` per wheel of the platform, each wheel named below."""
    scope = (
        "Exactly the packages requirements.txt lists (pip --no-deps: the Lambda runtime provides boto3 and botocore)"
        if no_deps
        else "Every package requirements.txt lists, and every package those depend on"
    )
    out = [
        "# Written by `make refresh-pins` from requirements.txt: change that file and run it again, never this one.",
        f"# {scope},",
        f"# with a hash for each wheel for CPython {python} on {LOCK_PLATFORM}, that wheel's file named below it.",
        inputs,
    ]
    for package in sorted(pylock.get("packages", []), key=lambda p: p["name"]):
        wheels = [(wheel["hashes"]["sha256"], _file_name(wheel)) for wheel in package.get("wheels", [])]
        if not wheels:
            raise Refusal(
                f"{display}: {package['name']}=={package['version']} has no wheel for CPython {python} on"
                f" {LOCK_PLATFORM}; pin a version that has one (the image never compiles a package)"
            )
        marker = f" ; {package['marker']}" if package.get("marker") else ""
        hashes = [f"    --hash=sha256:{digest}" for digest, _ in wheels]
        out.append(f"{package['name']}=={package['version']}{marker} \\")
        out.append(" \\\n".join(hashes))
        out.extend(f"    # sha256:{digest} {name}" for digest, name in wheels)
    return "\n".join(out) + "\n"


def stale_locks(sources: list[ServiceSources]) -> list[str]:
    """One line for each lock that is missing or was not made from today's requirements.txt and base image."""
    problems = []
    for service in sources:
        if not service.requirements.is_file():
            continue
        inputs = lock_inputs(service, image_python(service))
        lock = f"{service.display}/{LOCK}"
        if not service.lock.is_file():
            problems.append(f"{lock} is missing: run make refresh-pins")
        elif inputs not in service.lock.read_text(encoding="utf-8").splitlines():
            problems.append(
                f"{lock} is stale: {REQUIREMENTS} or the base image's Python changed; run make refresh-pins"
            )
    return problems


def unpinned_images(sources: list[ServiceSources]) -> list[str]:
    """One line for each FROM whose image has no digest."""
    problems = []
    for service in sources:
        for dockerfile in service.dockerfiles:
            display = f"{service.display}/{dockerfile}"
            for line in from_lines(read_dockerfile(service.folder / dockerfile, display), display):
                if not line.image.digest:
                    problems.append(
                        f"{display}:{line.number}: FROM {line.image.pinned} has no digest;"
                        " run make refresh-pins with access to its registry"
                    )
    return problems


def refreshed_locks(sources: list[ServiceSources]) -> dict[Path, str]:
    """Each service's new lock text (nothing written yet)."""
    from uv import find_uv_bin  # the pinned lock tool; only refreshing needs it

    uv = find_uv_bin()
    locks = {}
    for service in sources:
        if not service.requirements.is_file():
            continue
        python = image_python(service)
        pylock = compile_pylock(uv, service, python)
        locks[service.lock] = lock_text(
            pylock, inputs=lock_inputs(service, python), python=python, no_deps=service.no_deps, display=service.display
        )
    return locks


def pinned_dockerfiles(sources: list[ServiceSources], registry: Registry) -> dict[Path, str]:
    """Each Dockerfile with every FROM pinned to its tag's index digest as the registry has it now."""
    digests: dict[tuple[str, str, str], str] = {}
    files = {}
    for service in sources:
        for dockerfile in service.dockerfiles:
            path, display = service.folder / dockerfile, f"{service.display}/{dockerfile}"
            lines = read_dockerfile(path, display)
            for line in list(from_lines(lines, display)):
                image = line.image
                key = (image.registry, image.repository, image.tag)
                if key not in digests:
                    digests[key] = registry.index_digest(image)
                lines[line.number - 1] = pin_line(line, digests[key])
            files[path] = "".join(lines)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=__doc__.splitlines()[0], prefix=PREFIX)
    parser.add_argument(
        "--check", action="store_true", help="report unpinned base images and stale locks (exit 1); no network"
    )
    parser.add_argument(
        "--only", choices=("locks", "images"), help="refresh only the locks or only the base-image digests"
    )
    parser.add_argument(
        "--registry-endpoint",
        metavar="URL",
        help=(
            "FOR TESTS ONLY: send every registry request to this http(s)://host:port instead of each image's"
            " registry (default: none); announced on stdout"
        ),
    )
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    endpoint: str | None = args.registry_endpoint
    try:
        if endpoint and not re.match(r"^https?://[^/\s]+/?$", endpoint):
            raise Refusal(f"--registry-endpoint '{endpoint}' is not allowed; allowed: http(s)://host[:port]")
        sources = service_sources(args.root, read_settings(args.root, args.context).config)
        if args.check:
            problems = (unpinned_images(sources) if args.only != "locks" else []) + (
                stale_locks(sources) if args.only != "images" else []
            )
            for problem in problems:
                print(problem)
            if not problems:
                checked = {"locks": "every lock is fresh", "images": "every base image is pinned by digest"}
                print(f"{PREFIX}: {checked.get(args.only) or ' and '.join(reversed(checked.values()))}")
            return EXIT_STALE if problems else 0
        if endpoint:
            # Said on stdout, before any request: a refusal stays the one line on stderr.
            print(f"{PREFIX}: registry requests go to {endpoint} (--registry-endpoint, for tests)", flush=True)
        updates = refreshed_locks(sources) if args.only != "images" else {}
        if args.only != "locks":
            updates.update(pinned_dockerfiles(sources, Registry(endpoint=endpoint)))
    except Refusal as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return EXIT_REFUSED
    for path, text in updates.items():
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(args.root)}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
