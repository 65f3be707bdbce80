"""Property-based: every command (found as `make bench` and the start-up tests find them), run in-process with
generated arguments and environment, no AWS credentials and no network, ends with an exit code it documents and,
when it refuses, a last line on stderr; never a traceback, never a raw exception.

The commands run in a copy of the repository (new-service writes there), with no `docker` on PATH and `make
new-service`'s lock resolution faked. `make fuzz` runs the same with thousands of examples.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import signal
import socket
import sys

import pytest
from command_inventory import entry_point, runnable_commands
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scaffolding import fake_lock_resolution, repository_copy

pytestmark = pytest.mark.fuzz

# Each command's documented exit codes (its docstring, docs/operations.md, docs/image-builds.md); argparse's usage
# errors and every refusal are 2, `--help` is 0.
EXIT_CODES = {
    "audit": {0, 1, 2},
    "cost": {0, 2},
    "docker_build": {0, 1, 2},
    "docker_push": {0, 1, 2},
    "make_help": {0, 2},
    "new_service": {0, 2},
    "pipeline_settings": {0, 2},
    "preflight": {0, 2},
    "refresh_pins": {0, 1, 2},
    "summary": {0, 1, 2},
    "verify": {0, 1, 2},
}
COMMANDS = runnable_commands()
# The longest one example may run: a command that would wait on AWS or the network fails the test instead.
SECONDS_PER_RUN = 20

LONG = "a" * 300
OPTIONS = ["-c", "--context", "--root", "--json", "--deep", "--no-aws", "--env", "--stack", "--arch", "--target",
           "--check", "--only", "--registry-endpoint", "--format", "--output", "--config", "--prices", "--svg",
           "--poll-seconds", "--dockerfile", "--assembly", "--region", "--timeout", "--help", "-h", "--", "-", "-x",
           "--unknown"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["dev", "test", "prod", "api", "web", "lambda", "ecs", "ecs,eks", "arm64", "amd64", "cdk.out",
                     "DevStack", "eks=dev", "environments.dev.region=mars-1", "services.web.targets=[1]",
                     "project=" + LONG, "=", "x=", LONG, "-" + LONG, "--json", "é" * 70, "x\x00y", "x\ny", "\u2028",
                     "../x", ".", "", "0", "-1", "1e999", "nan", "http://127.0.0.1:9", "orders", "new-svc"]),
    st.text(max_size=12),
)  # fmt: skip
# Absolute paths only where writing to them fails harmlessly: an option that writes (--output, --svg) gets no other.
SAFE_ABSOLUTE = ("/", "/etc", "/proc/version")
TOKENS = st.one_of(st.sampled_from(OPTIONS), VALUES).map(
    lambda token: token if not token.startswith("/") or token in SAFE_ABSOLUTE else f"x{token}"
)
ENVIRONMENT = st.dictionaries(
    st.sampled_from(["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "ENV", "SERVICE", "CDK_CONTEXT_JSON"]),
    st.one_of(VALUES, st.sampled_from(["us-east-1", "{}", '{"project": 1}', "[", "eu-west-1"])).filter(
        lambda value: "\x00" not in value
    ),
    max_size=3,
)


class Hang(Exception):
    pass


def _hang(signum, frame):
    raise Hang(f"ran longer than {SECONDS_PER_RUN} s")


def _unreachable(*args, **kwargs):
    raise OSError(errno.ENETUNREACH, "Network is unreachable (no network in these tests)")


@pytest.fixture
def sandbox(no_aws, tmp_path, monkeypatch):
    """A copy of the repository as the working folder; no credentials (no_aws), no network, no docker."""
    root = repository_copy(tmp_path / "repository")
    monkeypatch.chdir(root)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    monkeypatch.setattr(socket.socket, "connect", _unreachable)
    monkeypatch.setattr(socket, "getaddrinfo", _unreachable)
    monkeypatch.setattr(sys, "stdin", io.StringIO("help\tlist the commands\n"))
    with fake_lock_resolution():
        yield root


def run_in_process(command: str, argv: list[str], environment: dict[str, str]) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(SECONDS_PER_RUN)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = entry_point(command)(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return code, stderr.getvalue()


def test_every_command_documents_its_exit_codes():
    assert set(EXIT_CODES) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one repository copy for all examples
@given(argv=st.lists(TOKENS, max_size=6), environment=ENVIRONMENT)
def test_any_arguments_and_environment_end_in_a_documented_exit_without_a_traceback(
    sandbox, command, argv, environment
):
    code, stderr = run_in_process(command, argv, environment)
    assert code in EXIT_CODES[command], f"exit {code}: {stderr}"
    assert "Traceback" not in stderr, stderr
    assert not re.search(r"\b(OSError|TypeError|KeyError|AttributeError|IndexError|UnicodeError)\b|\[Errno", stderr), (
        stderr
    )
    if code == 2:  # a refusal; exit 1 is a finding, reported on stdout
        lines = stderr.splitlines()
        assert lines and lines[-1].strip(), f"exit {code} with nothing on stderr"
