"""`python -m graviton_commands.verify --no-aws` against a real local HTTP server: aarch64 passes, x86_64 fails,
errors and non-JSON cannot be checked. The AWS checks are tested against moto in test_verify_aws.py."""

from __future__ import annotations

import ast
import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from support import ROOT, run

from graviton_commands.verify import command as verify
from graviton_commands.verify.checks import CHECKS
from graviton_commands.verify.endpoints import fetch_machine
from graviton_commands.verify.model import WRONG, CannotCheck, Plan, Row, Target

PACKAGE = ROOT / "constructs" / "graviton_commands" / "verify"
# As the pipeline runs it (stacks/pipeline_stack.py VERIFY_COMMAND), from the repository root.
MODULE = ["python3", "-m", "graviton_commands.verify"]
PIPELINE_ENV = {"PYTHONPATH": "constructs"}
# The project's own packages, which PYTHONPATH=constructs provides in the pipeline's bare container.
PROJECT = {"graviton", "graviton_app", "graviton_commands"}
# URL checks only (no credentials), quickly.
FAST = ["--no-aws", "--attempts", "3", "--backoff", "0", "--timeout", "5"]


class ArchHandler(BaseHTTPRequestHandler):
    """`/<behaviour>/arch`: what a service behind an ALB or an HTTP API might answer."""

    hits: ClassVar[Counter] = Counter()  # requests per path, shared by the server's handler instances

    def do_GET(self) -> None:
        self.hits[self.path] += 1
        behaviour = self.path.removesuffix("/arch").strip("/")
        if not self.path.endswith("/arch"):
            self._answer(404, "text/plain", b"not found")
        elif behaviour == "arm":
            self._answer(200, "application/json", b'{"machine": "aarch64"}')
        elif behaviour == "x86":
            self._answer(200, "application/json", b'{"machine": "x86_64"}')
        elif behaviour == "error":
            self._answer(500, "text/plain", b"internal error")
        elif behaviour == "html":
            self._answer(200, "text/html", b"<html>It works!</html>")
        elif behaviour == "no-machine":
            self._answer(200, "application/json", b'{"status": "ok"}')
        elif behaviour == "warming-up":  # a fresh ALB: 503 until the targets are healthy
            ready = self.hits[self.path] > 2
            self._answer(200 if ready else 503, "application/json", b'{"machine": "aarch64"}' if ready else b"{}")
        else:
            self._answer(404, "text/plain", b"not found")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ArchHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fresh_hits():
    ArchHandler.hits.clear()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_aarch64_everywhere_exits_0_with_a_table(server, capsys):
    code = verify.main(["--env", "dev", "--url", f"api={server}/arm", "--url", f"web={server}/arm/", *FAST])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "arm64 verification: dev"
    assert lines[1].split() == ["service", "expected", "found", "verdict"]
    assert [line.split() for line in lines[2:]] == [
        ["api", "aarch64", "aarch64", "ok"],
        ["web", "aarch64", "aarch64", "ok"],
    ]


def test_an_x86_service_exits_1_and_names_it(server, capsys):
    code = verify.main(["--env", "test", "--url", f"api={server}/arm", "--url", f"web={server}/x86", *FAST])
    out, err = capsys.readouterr()
    assert code == 1
    assert ["web", "aarch64", "x86_64", "WRONG"] in [line.split() for line in out.splitlines()]
    assert err == "verify: test: not on Graviton: web (x86_64); expected aarch64\n"
    assert ArchHandler.hits["/x86/arch"] == 1  # an answer is not retried


def test_another_machine_outranks_a_service_that_cannot_be_checked(server, capsys):
    assert verify.main(["--env", "dev", "--url", f"api={server}/x86", "--url", f"web={server}/error", *FAST]) == 1


def test_a_500_is_retried_then_cannot_be_checked_exit_2(server, capsys):
    code = verify.main(["--env", "prod", "--url", f"web={server}/error", *FAST])
    out, err = capsys.readouterr()
    assert code == 2
    assert ArchHandler.hits["/error/arch"] == 3
    assert err.count("\n") == 1
    assert err.startswith("verify: prod: cannot check web: ") and "HTTP 500 after 3 attempt(s)" in err
    assert ["web", "aarch64", "-", "cannot", "check"] in [line.split() for line in out.splitlines()]


def test_a_freshly_deployed_endpoint_is_waited_for(server, capsys):
    assert verify.main(["--env", "dev", "--url", f"web={server}/warming-up", *FAST]) == 0
    assert ArchHandler.hits["/warming-up/arch"] == 3


def test_waits_double_between_attempts(server):
    waits: list[float] = []
    plan = Plan("dev", (Target("web", f"{server}/error"),), attempts=4, backoff_seconds=1.5, sleep=waits.append)
    with pytest.raises(CannotCheck):
        fetch_machine(f"{server}/error", plan=plan)
    assert waits == [1.5, 3.0, 6.0]


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("html", "did not answer JSON"), ("no-machine", 'without a "machine" string'), ("missing", "answered HTTP 404")],
)
def test_an_answer_without_a_machine_cannot_be_checked_exit_2(server, capsys, behaviour, reason):
    assert verify.main(["--env", "dev", "--url", f"api={server}/{behaviour}", *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err
    assert ArchHandler.hits[f"/{behaviour}/arch"] == 1  # not worth retrying


def test_an_unreachable_endpoint_is_retried_then_exit_2(capsys):
    url = closed_port_url()
    assert verify.main(["--env", "dev", "--url", f"api={url}", *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unreachable (" in err and "after 3 attempt(s)" in err


def test_json_output_has_one_row_per_service(server, capsys):
    code = verify.main(["--env", "dev", "--url", f"api={server}/arm", "--url", f"web={server}/x86", "--json", *FAST])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["exit_code"] == 1 and report["environment"] == "dev"
    assert report["aws"] is False
    assert [(r["resource"], r["expected"], r["found"], r["verdict"]) for r in report["rows"]] == [
        ("api", "aarch64", "aarch64", "ok"),
        ("web", "aarch64", "x86_64", "WRONG"),
    ]


def test_checks_are_a_list_producing_rows(server, capsys):
    def lambda_architectures(plan: Plan) -> list[Row]:
        return [Row("Lambda Architectures", "api", "arm64", "x86_64", WRONG)]

    checks = [*CHECKS, lambda_architectures]
    assert verify.main(["--env", "dev", "--url", f"api={server}/arm", *FAST], checks=checks) == 1
    assert ["api", "arm64", "x86_64", "WRONG"] in [line.split() for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "dev", "--no-aws"], "give at least one --url"),
        (
            ["--env", "dev", "--no-aws", "--url", "api=https://a.example", "--region", "eu-west-1"],
            "are for the AWS checks",
        ),
        (["--url", "api=https://example.com"], "--env"),
        (["--env", "dev", "--url", "https://example.com"], "must be SERVICE=URL"),
        (["--env", "dev", "--url", "api="], "has no URL"),
        (["--env", "dev", "--url", "api=ftp://example.com"], "must start with http:// or https://"),
        (["--env", "dev", "--url", "api=https://a.example", "--url", "api=https://b.example"], "more than once"),
        (["--env", "dev", "--url", "api=https://a.example", "--attempts", "0"], "--attempts must be at least 1"),
        (["--env", "dev", "--url", "api=https://a.example", "--colour"], "unrecognized arguments"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2_without_traceback(args, message):
    result = run([*MODULE, *args], env=PIPELINE_ENV)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("verify: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "env"),
    [(MODULE, PIPELINE_ENV), ([sys.executable, "-m", "graviton_commands.verify"], None)],
    ids=["as-the-pipeline", "as-make"],
)
def test_it_runs_as_the_pipeline_runs_it_and_as_a_module(server, command, env):
    result = run([*command, "--env", "dev", "--url", f"api={server}/arm", *FAST], env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "api" in result.stdout and "ok" in result.stdout


def loaded_by(args: list[str], *, exit_code: int) -> set[str]:
    """The top-level packages `python -m graviton_commands.verify <args>` loads beyond the standard library, run
    as in the pipeline's bare container: `PYTHONPATH=constructs` and no site-packages (`-S`), so nothing installed
    could even be imported."""
    probe = (
        "import json, runpy, sys\n"
        "before = set(sys.modules)\n"
        f"sys.argv = ['verify', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('graviton_commands.verify', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as done:\n"
        f"    assert done.code == {exit_code!r}, done.code\n"
        "loaded = {name.split('.')[0] for name in set(sys.modules) - before} - set(sys.stdlib_module_names)\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    result = run(["python3", "-S", "-c", probe], env=PIPELINE_ENV, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_url_only_run_loads_the_standard_library_only(server):
    """The pipeline runs --no-aws in a bare CodeBuild container where nothing is installed: boto3 and the settings
    loader are imported only when the AWS checks run; the project's own modules come from PYTHONPATH=constructs."""
    assert loaded_by(["--env", "dev", "--url", f"api/lambda={server}/arm", *FAST], exit_code=0) <= PROJECT


@pytest.mark.parametrize(
    ("args", "exit_code"), [(["--help"], 0), (["--env", "dev", "--no-aws"], 2)], ids=["help", "refusal"]
)
def test_help_and_a_refusal_import_neither_aws_cdk_nor_boto3(args, exit_code):
    loaded = loaded_by(args, exit_code=exit_code)
    assert not loaded & {"aws_cdk", "jsii", "boto3", "botocore", "pydantic"}
    assert loaded <= PROJECT


def imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """`graviton_app.naming.stack_name` for `from graviton_app.naming import stack_name`; `json` for `import json`."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [f"{node.module}.{alias.name}" for alias in node.names] if node.level == 0 else []


def test_its_top_level_imports_are_the_standard_library():
    """boto3, botocore and the settings loader (pydantic) may only be imported inside the functions the AWS checks
    call; at the top, each module imports the standard library and the project's standard-library-only modules.
    Read: verify's modules and the shared ones it reaches AWS and parses arguments with."""
    pure = (
        "graviton_commands.",
        "graviton_app.naming.",
        "graviton_app.messages.",  # standard library only: how a refusal quotes a value
        "graviton.registry.runtime.image_manifest.",
        "graviton.image_build.layer_scan.",  # standard library only: tests/graviton/image_build/test_layer_scan.py
    )
    lazy: set[str] = set()
    shared = ("aws.py", "cli.py", "settings.py")
    for path in [*sorted(PACKAGE.glob("*.py")), *(PACKAGE.parent / name for name in shared)]:
        tree = ast.parse(path.read_text())
        top = {
            name for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for name in imported_names(node)
        }
        others = {name for name in top if name.split(".")[0] not in sys.stdlib_module_names | {"__future__"}}
        assert all(f"{name}.".startswith(pure) for name in others), (path.name, others)
        lazy |= {
            name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and node not in tree.body
            for name in imported_names(node)
            if name.split(".")[0] not in sys.stdlib_module_names
        }
    assert {name.split(".")[0] for name in lazy} - PROJECT == {"boto3", "botocore"}
    assert {name.rpartition(".")[0] for name in lazy if name.split(".")[0] in PROJECT} == {
        "graviton_app.config",
        "graviton_app.context",
    }
