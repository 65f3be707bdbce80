"""make's CONTEXT: the same `-c` overrides reach every command that synthesizes or reads cdk.json."""

from __future__ import annotations

import re

import pytest
from support import run

# -o: take setup as done, so the tests never install anything.
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed"]
CONTEXT = "-c eks=dev -c gatekeeper_action=delete"
# A command that synthesizes (the CDK CLI, except on an assembly already synthesized: `--app cdk.out`) or reads
# cdk.json (our commands, docker-push's script).
READS_SETTINGS = re.compile(
    r"/node_modules/\.bin/cdk (?!\S+ --app cdk\.out)|-m graviton_commands\.(?!summary )|scripts/docker-push\.sh "
)

# target (with its required variables) -> how many commands of its recipe read the settings
TARGETS = {
    "synth": 1,
    "cost": 1,
    "deploy ENV=dev": 2,  # synth, then preflight on that assembly; cdk deploy takes the assembly
    "diff ENV=prod": 2,
    "verify ENV=test": 1,
    "deploy-pipeline": 2,
    "diff-pipeline": 2,
    "docker-push-dev SERVICE=api": 1,
    "docker-build": 1,
    "refresh-pins": 1,
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_command_that_reads_the_settings_gets_context(target):
    result = run([*MAKE, "-n", *target.split(), f"CONTEXT={CONTEXT}"])
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if READS_SETTINGS.search(line)]
    assert len(commands) == TARGETS[target], result.stdout
    for command in commands:
        assert f" {CONTEXT}" in command, command


def test_context_reaches_docker_push_with_its_quoting():
    """The real target: the value (with a space, quoted in CONTEXT) reaches the command, which refuses it."""
    result = run([*MAKE, "docker-push-dev", "SERVICE=api", "CONTEXT=-c 'gatekeeper_action=no way'"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'gatekeeper_action' = \"no way\" is not allowed" in result.stderr, result.stderr
