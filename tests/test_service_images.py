"""What each Lambda service's image installs: its own packages and their dependencies, never an AWS SDK of its own.

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
from packaging.utils import canonicalize_name
from support import ROOT, repo_context

from graviton_app.config import DOCKER_ROOT, load_config

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
    (version,) = re.findall(r"^FROM \S*/python:(3\.\d+)", dockerfile.read_text(), re.MULTILINE)
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
