"""`make new-service NAME=orders TARGET=lambda`: scaffold `docker/<name>/` and add the service to cdk.json.

A `lambda` service is a container Lambda with a Powertools handler; an `ecs` or `eks` service (or both: `ecs,eks`) is
a FastAPI server on uvicorn. Either answers the health route and `GET /arch`, comes with its own tests, and installs
a hash-locked `requirements.lock` of aarch64 wheels, resolved here as `make refresh-pins` resolves it (uv, PyPI).

Everything is written in a staging folder and checked first (the new cdk.json with `load_config`): a refusal is one
line on stderr and exit 2, and leaves no folder behind and cdk.json untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graviton.constants import CONTAINER_PORT, CONTAINER_USER, HEALTH_PATH, POWERTOOLS_VERSION
from graviton_app.naming import DOCKER_ROOT
from graviton_commands.cli import EXIT_REFUSED, CommandParser, Refusal
from graviton_commands.settings import read_settings

PREFIX = "new-service"
PROG = "python -m graviton_commands.new_service"
TEMPLATES = Path(__file__).resolve().parent / "service_templates"
TARGETS = ("lambda", "ecs", "eks")
DOCKERFILE = "Dockerfile"
# A service's requirements join the venv's, so `make test` runs its tests with what its image installs.
DEV_REQUIREMENTS = "requirements-dev.txt"


def parse_targets(value: str) -> list[str]:
    """`ecs,eks` -> ['ecs', 'eks']; refused unless each is a target and a Lambda image is not also a server."""
    targets = [target.strip() for target in value.split(",")]
    for target in targets:
        if target not in TARGETS:
            raise Refusal(f"TARGET '{target}' is not allowed; allowed: {', '.join(TARGETS)} (several: ecs,eks)")
    if len(set(targets)) != len(targets):
        raise Refusal(f"TARGET '{value}' repeats a target; allowed: each of {', '.join(TARGETS)} once")
    if "lambda" in targets and len(targets) > 1:
        raise Refusal(
            f"TARGET '{value}' is not allowed: a Lambda image cannot also be an ECS/EKS server; allowed: lambda,"
            " or ecs and/or eks (scaffold two services for both)"
        )
    return targets


def check_name(name: str) -> None:
    """The rule of `services[].name` in cdk.json (ServiceConfig's), refused in its own words."""
    from pydantic import TypeAdapter, ValidationError

    from graviton_app.config import ResourceName

    try:
        TypeAdapter(ResourceName).validate_python(name)
    except ValidationError as err:
        reason = err.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise Refusal(f"NAME '{name}' is not allowed: {reason}") from None


def package_name(name: str) -> str:
    """`web-api` -> `web_api_service`: the service's Python package inside its folder."""
    return f"{name.replace('-', '_')}_service"


def render(template: str, name: str) -> str:
    """The template with this service's names and today's container contract filled in."""
    values = {
        "__SERVICE__": name,
        "__PACKAGE__": package_name(name),
        "__PORT__": str(CONTAINER_PORT),
        "__HEALTH_PATH__": HEALTH_PATH,
        "__UID__": CONTAINER_USER.split(":")[0],
        "__POWERTOOLS_VERSION__": POWERTOOLS_VERSION,
    }
    for token, value in values.items():
        template = template.replace(token, value)
    return template


def write_sources(folder: Path, name: str, targets: list[str]) -> None:
    """The template's files, with their names and contents filled in, into `folder`."""
    template_root = TEMPLATES / ("lambda" if "lambda" in targets else "container")
    for template in sorted(template_root.rglob("*.tmpl")):
        relative = render(str(template.relative_to(template_root).with_suffix("")), name)
        target = folder / ("." + relative if relative == "dockerignore" else relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template.read_text(encoding="utf-8"), name), encoding="utf-8")


def write_lock(folder: Path, name: str, targets: list[str]) -> None:
    """requirements.lock as `make refresh-pins` writes it: uv's aarch64 resolution, a hash for every wheel."""
    from graviton_commands import refresh_pins

    sources = refresh_pins.ServiceSources(
        folder=folder,
        display=f"{DOCKER_ROOT}/{name}",
        dockerfiles=(DOCKERFILE,),
        no_deps="lambda" in targets,
    )
    for path, text in refresh_pins.refreshed_locks([sources]).items():
        path.write_text(text, encoding="utf-8")


def service_entry(name: str, targets: list[str], *, folder: str, priority: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "folder": folder, "dockerfile": DOCKERFILE, "targets": targets}
    if priority is not None:
        entry["route"] = {"priority": priority}
    return entry


def rule_priority(root: Path, context: Any, name: str, targets: list[str]) -> int | None:
    """The listener rule priority to write for a new `ecs` service whose name's own one another service has: the next
    free one, so that no existing rule moves (None: its name's own is free, or it has no ecs target)."""
    if "ecs" not in targets:
        return None
    from graviton_app.config import ConfigError, load_config
    from graviton_app.naming import free_rule_priority

    try:
        taken = load_config(context.values, root=root).rule_priorities().values()
    except ConfigError as err:
        raise Refusal(str(err)) from None
    return free_rule_priority(name, set(taken))


def checked_document(root: Path, context: Any, name: str, targets: list[str], staged: Path) -> dict[str, Any]:
    """cdk.json's document with the service appended, once `load_config` accepted the result (the staged folder
    standing in for the final one, which does not exist yet)."""
    from graviton_app.config import ConfigError, load_config
    from graviton_app.context import CONFIG_FILE, ContextError, read_json

    priority = rule_priority(root, context, name, targets)
    services = [
        *context.committed.get("services", []),
        service_entry(name, targets, folder=staged.name, priority=priority),
    ]
    try:
        load_config({**context.values, "services": services}, root=root)
        document = read_json(root / CONFIG_FILE)
    except (ConfigError, ContextError) as err:
        raise Refusal(str(err)) from None
    document["context"]["services"] = [*services[:-1], service_entry(name, targets, folder=name, priority=priority)]
    return document


def json_text(document: dict[str, Any], *, like: str) -> str:
    """The document as cdk.json is written: two-space JSON in its own key order, ending as the file `like` ends."""
    return json.dumps(document, indent=2, ensure_ascii=False) + ("\n" if like.endswith("\n") else "")


def replace_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all: a sibling temporary file renamed over it."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def scaffold(root: Path, name: str, targets: list[str]) -> Path:
    """Create `docker/<name>/` and add its cdk.json entry; Refusal, with nothing written, when that is not allowed."""
    from graviton_app.context import CONFIG_FILE

    check_name(name)
    docker_root = root / DOCKER_ROOT
    folder = docker_root / name
    if folder.exists():
        raise Refusal(f"NAME '{name}' is not allowed: {DOCKER_ROOT}/{name}/ already exists")
    if not docker_root.is_dir():
        raise Refusal(f"--root {root}: no {DOCKER_ROOT}/ folder; is it this repository's root?")
    context, config = read_settings(root)
    if name in {service.name for service in config.services}:
        raise Refusal(f"NAME '{name}' is not allowed: cdk.json already has a service named '{name}'")
    # In docker/ itself, so the move into place is one rename on the same file system.
    staged = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=docker_root))
    try:
        staged.chmod(0o777 & ~current_umask())  # mkdtemp's 0700 would keep the folder from the rest of the team
        write_sources(staged, name, targets)
        write_lock(staged, name, targets)
        document = checked_document(root, context, name, targets, staged)
        config_path = root / CONFIG_FILE
        config_text = json_text(document, like=config_path.read_text(encoding="utf-8"))
        staged.rename(folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    try:
        replace_text(config_path, config_text)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    dev_requirements = root / DEV_REQUIREMENTS
    if dev_requirements.is_file():
        listed = dev_requirements.read_text(encoding="utf-8")
        line = f"-r {DOCKER_ROOT}/{name}/requirements.txt"
        if line not in listed.splitlines():
            replace_text(dev_requirements, listed + ("" if listed.endswith("\n") else "\n") + line + "\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=__doc__.splitlines()[0], prefix=PREFIX)
    parser.add_argument("name", metavar="NAME", help="the service's name: lower-case letters, digits and '-'")
    parser.add_argument(
        "--target", required=True, metavar="TARGET", help=f"where it runs: {', '.join(TARGETS)}, or ecs,eks for both"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the folder holding cdk.json (default: .)")
    args = parser.parse_args(argv)
    try:
        targets = parse_targets(args.target)
        folder = scaffold(args.root, args.name, targets)
    except Refusal as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return EXIT_REFUSED
    created = folder.relative_to(args.root)
    print(f"{PREFIX}: created {created}/ and added '{args.name}' ({', '.join(targets)}) to cdk.json")
    if "eks" in targets:
        from graviton_app.context import read_context

        if not read_context(args.root).values.get("eks"):
            print(f"{PREFIX}: note: cdk.json's 'eks' lists no environment yet, so no cluster runs the service")
    print(f"{PREFIX}: next: make test; make refresh-pins (base images by digest); make deploy ENV=dev")
    return 0


if __name__ == "__main__":
    sys.exit(main())
