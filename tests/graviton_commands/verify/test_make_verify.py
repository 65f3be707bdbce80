"""`make verify ENV=...`: setup first, the environment checked like `make deploy`, then graviton_commands.verify."""

from __future__ import annotations

from support import run

# -o: take setup as done, so the tests never install anything
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed"]


def test_make_verify_runs_the_module_for_the_environments_stack():
    result = run([*MAKE, "-n", "verify", "ENV=test", "VERIFY_ARGS=--json"])
    assert result.returncode == 0, result.stderr
    [command] = [line for line in result.stdout.splitlines() if "graviton_commands.verify" in line]
    assert command.endswith("/.venv/bin/python -m graviton_commands.verify --env test --stack TestStack --json")


def test_make_verify_refuses_an_unknown_environment_like_make_deploy():
    result = run([*MAKE, "verify", "ENV=qa"])
    assert result.returncode != 0
    assert "ENV=qa is not allowed; use ENV=dev, ENV=test or ENV=prod" in result.stderr
    assert "graviton_commands.verify" not in result.stdout


def test_make_verify_sets_up_first():
    result = run(["make", "--no-print-directory", "-n", "-W", "requirements.txt", "verify", "ENV=dev"])
    lines = result.stdout.splitlines()
    install = next(n for n, line in enumerate(lines) if "pip install" in line)
    verify = next(n for n, line in enumerate(lines) if "graviton_commands.verify" in line)
    assert install < verify
