"""The commands start at once: none imports aws-cdk-lib (or jsii, which starts Node), and `--help` and refusals
import no boto3 either. Timings live in `make bench`; here the imports, which decide them, are checked."""

from __future__ import annotations

import json
import pkgutil
import sys

import pytest
from command_inventory import runnable_commands
from support import ROOT, run

import graviton_commands

COMMANDS = runnable_commands()
HEAVY = ("aws_cdk", "jsii", "constructs", "cdk_nag")


def modules_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = run([sys.executable, "-c", probe], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_no_command_module_imports_aws_cdk():
    names = [m.name for m in pkgutil.walk_packages(graviton_commands.__path__, "graviton_commands.")]
    assert {f"graviton_commands.{c}" for c in ("docker_push", "verify.command", "cost.command")} <= set(names)
    loaded = modules_after("\n".join(f"import {name}" for name in names) + "\nimport graviton_app.config")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_the_library_package_itself_loads_without_aws_cdk_until_a_construct_is_used():
    loaded = modules_after("import graviton\nfrom graviton import constants")
    assert "aws_cdk" not in loaded
    loaded = modules_after("from graviton import ArmImageBuild")
    assert "aws_cdk" in loaded


@pytest.mark.parametrize("command", COMMANDS)
def test_help_imports_neither_aws_cdk_nor_boto3(command):
    code = (
        "import runpy\n"
        f"sys.argv = ['{command}', '--help']\n"
        "try:\n"
        f"    runpy.run_module('graviton_commands.{command}', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass"
    )
    loaded = {m.split(".")[0] for m in modules_after(code)}
    assert not loaded & {*HEAVY, "boto3", "botocore"}


def test_every_command_is_in_the_inventory_and_timed_by_make_bench():
    from bench.commands import COMMANDS as TIMED  # tests/bench/commands.py

    assert {"verify", "cost", "docker_push", "new_service", "preflight"} <= set(COMMANDS)
    timed = {args[1].removeprefix("graviton_commands.") for args in TIMED.values()}
    assert timed == set(COMMANDS), "make bench times each command's --help and one refusal"
