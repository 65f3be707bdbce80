"""What each service's image installs: hash-locked aarch64 wheels; for a Lambda service its own packages and their
dependencies, never an AWS SDK of its own.

The Lambda Python base images ship boto3 and botocore; a copy pip puts in the task root comes first on sys.path and
shadows them. The install is read from the service's Dockerfile (its `pip install` flags) and requirements file,
and resolved with the metadata of the exact pins `make setup` installed.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from support import ROOT, repo_context

from graviton_app.config import DOCKER_ROOT, load_config
from graviton_commands.refresh_pins import service_sources, stale_locks

# The SDK the Lambda Python runtime provides, and what it provides besides for it.
RUNTIME_SDK = frozenset({"boto3", "botocore", "s3transfer"})
RUNTIME_PROVIDED = RUNTIME_SDK | {"jmespath", "python-dateutil", "six", "urllib3"}

LAMBDA_SERVICES = [s for s in load_config(repo_context(), root=ROOT).services if "lambda" in s.targets]


def pip_install(dockerfile: Path) -> list[str]:
    """The argv of the Dockerfile's one `pip install` (continuation lines joined)."""
    instructions = re.sub(r"\\\n", " ", dockerfile.read_text()).splitlines()
    (command,) = [line for line in instructions if line.startswith("RUN ") and "pip install" in line]
    argv = shlex.split(command.removeprefix("RUN "))
    return argv[argv.index("install") + 1 :]


def image_markers(dockerfile: Path) -> dict[str, str]:
    """Marker values for the image's interpreter: the base image's Python on linux/arm64."""
    (version,) = set(re.findall(r"^FROM \S*/python:(3\.\d+)", dockerfile.read_text(), re.MULTILINE))
    return {
        **default_environment(),
        "python_version": version,
        "python_full_version": f"{version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "aarch64",
    }


def requirements(path: Path) -> list[Requirement]:
    """The specifiers of a requirements file (comments, options and `--hash` continuations left out)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = (line.split(" #")[0].split(" --")[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]


def applies(requirement: Requirement, markers: dict[str, str], extras: set[str]) -> bool:
    return requirement.marker is None or any(
        requirement.marker.evaluate({**markers, "extra": extra}) for extra in extras | {""}
    )


def installed(top: list[Requirement], markers: dict[str, str], *, with_dependencies: bool) -> dict[str, str]:
    """What pip puts in the image: package -> the package that pulled it in (itself for a listed one)."""
    found: dict[str, str] = {}
    pending = [(requirement, requirement.name) for requirement in top]
    while pending:
        requirement, parent = pending.pop(0)
        name = canonicalize_name(requirement.name)
        if name in found or not applies(requirement, markers, set()):
            continue
        found[name] = canonicalize_name(parent)
        if with_dependencies:
            for dependency in importlib.metadata.requires(name) or []:
                needed = Requirement(dependency)
                if applies(needed, markers, set(requirement.extras)):
                    pending.append((needed, name))
    return found


@pytest.mark.parametrize("service", LAMBDA_SERVICES, ids=lambda s: s.name)
def test_a_lambda_image_installs_what_its_packages_need_and_no_aws_sdk_of_its_own(service):
    folder = ROOT / DOCKER_ROOT / service.folder
    dockerfile = folder / service.dockerfile
    argv = pip_install(dockerfile)
    listed = requirements(folder / Path(argv[argv.index("-r") + 1]).name)
    for requirement in listed:  # the metadata read below is that of the pinned version
        (pin,) = requirement.specifier
        assert pin.operator == "==" and importlib.metadata.version(requirement.name) == pin.version, requirement
    markers = image_markers(dockerfile)
    image = installed(listed, markers, with_dependencies="--no-deps" not in argv)

    sdk = {name: parent for name, parent in image.items() if name in RUNTIME_SDK}
    assert not sdk, f"{dockerfile.relative_to(ROOT)} installs {sdk} (package: pulled in by), shadowing the runtime's"
    for name in image:
        for dependency in map(Requirement, importlib.metadata.requires(name) or []):
            if applies(dependency, markers, set()):
                needed = canonicalize_name(dependency.name)
                assert needed in image or needed in RUNTIME_PROVIDED, f"{name} needs {needed}: list it"


# --- hash-locked requirements: what every Python service's image installs, file by file ---------------------------

PYTHON_SERVICES = [
    s
    for s in load_config(repo_context(), root=ROOT).services
    if (ROOT / DOCKER_ROOT / s.folder / "requirements.txt").is_file()
]
# Graviton's wheels: manylinux for glibc 2.28 and older (manylinux2014 is 2.17), aarch64.
AARCH64_PLATFORMS = [*(f"manylinux_2_{minor}_aarch64" for minor in range(28, 16, -1)), "manylinux2014_aarch64"]
_LOCK_FILE = re.compile(r"^# sha256:([0-9a-f]{64}) (\S+)$")


def image_tags(python: str) -> set[Tag]:
    """Every wheel tag CPython `python` on Linux aarch64 installs: its own, abi3 and pure-Python wheels."""
    version = tuple(int(part) for part in python.split("."))
    return {
        *cpython_tags(version, abis=[f"cp{version[0]}{version[1]}"], platforms=AARCH64_PLATFORMS),
        *compatible_tags(version, f"cp{version[0]}{version[1]}", platforms=AARCH64_PLATFORMS),
    }


def lock_entries(path: Path) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """name -> (its `==` version, its --hash digests, digest -> the file name the lock gives below it)."""
    entries: dict[str, tuple[str, list[str], dict[str, str]]] = {}
    current = ""
    for line in re.sub(r"\\\n", " ", path.read_text()).splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            requirement = Requirement(line.split(" --")[0].strip())
            (pin,) = requirement.specifier
            assert pin.operator == "==", f"{path.name}: {line}"
            current = canonicalize_name(requirement.name)
            entries[current] = (pin.version, re.findall(r"--hash=sha256:([0-9a-f]{64})", line), {})
        elif _LOCK_FILE.match(line.strip()):
            digest, name = _LOCK_FILE.match(line.strip()).groups()
            entries[current][2][digest] = name
    return entries


@pytest.mark.parametrize("service", PYTHON_SERVICES, ids=lambda s: s.name)
def test_a_service_image_installs_hash_locked_aarch64_wheels_only(service):
    folder = ROOT / DOCKER_ROOT / service.folder
    dockerfile = folder / service.dockerfile
    argv = pip_install(dockerfile)
    assert "--require-hashes" in argv and Path(argv[argv.index("-r") + 1]).name == "requirements.lock", argv
    assert "--only-binary=:all:" in argv, "an image never compiles a package"
    tags = image_tags(image_markers(dockerfile)["python_version"])
    entries = lock_entries(folder / "requirements.lock")
    assert entries
    for name, (version, hashes, files) in entries.items():
        assert hashes, f"{name}=={version} has no --hash"
        assert set(hashes) == set(files), f"{name}=={version}: each hash names its file, and only those"
        for digest, file_name in files.items():
            wheel_name, wheel_version, _, wheel_tags = parse_wheel_filename(file_name)
            assert (wheel_name, str(wheel_version)) == (name, version), f"{file_name} is not {name}=={version}"
            assert wheel_tags & tags, f"{file_name} (sha256:{digest}) does not install on CPython/aarch64"
    listed = {
        canonicalize_name(r.name): str(next(iter(r.specifier)).version)
        for r in requirements(folder / "requirements.txt")
    }
    assert {name: entries.get(name, ("missing",))[0] for name in listed} == listed, (
        "the lock pins what requirements.txt pins"
    )
    if "lambda" in service.targets:  # --no-deps: exactly what requirements.txt lists, no SDK of its own
        assert set(entries) == set(listed)
        assert not set(entries) & RUNTIME_SDK


def test_every_lock_was_made_from_todays_requirements_and_base_image():
    sources = service_sources(ROOT, load_config(repo_context(), root=ROOT))
    assert stale_locks(sources) == []
