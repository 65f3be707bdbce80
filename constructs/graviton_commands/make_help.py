"""`make help`'s list as the current cdk.json allows it: `python -m graviton_commands.make_help < lines`.

make hands it its static lines (`target<TAB>what it does`) on stdin. It prints them with the `docker-push-<env>`
targets only for the environments that build their own images (one that runs another's, `images_from`, is
refused by docker-push), and `ENV=dev` naming every environment cdk.json configures. When cdk.json cannot be
read, the lines come out as they came in. Standard library only (no pydantic): `make help` stays instant.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from graviton_app.context import ContextError, read_context
from graviton_commands.cli import CommandParser

DOCKER_PUSH = re.compile(r"^docker-push-[a-z0-9-]+\t")
ENV_EXAMPLE = re.compile(r"\bENV=dev\b")


def docker_push_lines(environments: Mapping[str, Any], service: str) -> list[str]:
    """One line per environment that builds its own images, naming those that run them."""
    lines = []
    for name, settings in environments.items():
        if settings.get("images_from"):
            continue
        promoted = [other for other, s in environments.items() if s.get("images_from") == name]
        runs = f" ({' and '.join(promoted)} run its images)" if promoted else ""
        lines.append(
            f"docker-push-{name}\tbuild SERVICE's sources on {name}'s ARM CodeBuild{runs}: make docker-push-{name}"
            f" SERVICE={service} [DOCKERFILE=...]"
        )
    return lines


def rewrite(lines: Sequence[str], values: Mapping[str, Any]) -> list[str]:
    """`lines` as the settings in `values` allow; ValueError when they are not shaped as cdk.json's are."""
    environments, services = values.get("environments"), values.get("services")
    if not isinstance(environments, dict) or not environments:
        raise ValueError("no environments")
    if not all(isinstance(settings, dict) for settings in environments.values()):
        raise ValueError("an environment is not an object")
    if not isinstance(services, list) or not services or not isinstance(services[0], dict):
        raise ValueError("no services")
    service = str(services[0].get("name", "<name>"))
    pushes = docker_push_lines(environments, service)
    choices = "ENV=" + "|".join(environments)
    result: list[str] = []
    for line in lines:
        if DOCKER_PUSH.match(line):
            result += pushes  # in place of the first docker-push line; the others are left out
            pushes = []
        else:
            result.append(ENV_EXAMPLE.sub(choices, line))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog="python -m graviton_commands.make_help", description=__doc__.splitlines()[0])
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    lines = sys.stdin.read().splitlines()
    with contextlib.suppress(ContextError, ValueError):  # else the static list, as make wrote it
        lines = rewrite(lines, read_context(args.root, args.context, warn=lambda line: None).values)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
