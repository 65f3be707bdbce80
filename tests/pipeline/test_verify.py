"""verify.py --no-aws against a real local HTTP server: aarch64 passes, x86_64 fails, errors and non-JSON cannot be
checked. The AWS checks are tested against moto in tests/verify/."""

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

from graviton import verify

SCRIPT = ROOT / "constructs" / "graviton" / "verify.py"
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
    plan = verify.Plan(
        "dev", (verify.Target("web", f"{server}/error"),), attempts=4, backoff_seconds=1.5, sleep=waits.append
    )
    with pytest.raises(verify.CannotCheck):
        verify.fetch_machine(f"{server}/error", plan=plan)
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
    def lambda_architectures(plan: verify.Plan) -> list[verify.Row]:
        return [verify.Row("Lambda Architectures", "api", "arm64", "x86_64", verify.WRONG)]

    checks = [*verify.CHECKS, lambda_architectures]
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
    result = run([sys.executable, str(SCRIPT), *args])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("verify: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["python3", str(SCRIPT)], [sys.executable, "-m", "graviton.verify"]])
def test_it_runs_as_the_pipeline_runs_it_and_as_a_module(server, command):
    result = run([*command, "--env", "dev", "--url", f"api={server}/arm", *FAST], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "api" in result.stdout and "ok" in result.stdout


def test_the_url_only_run_loads_the_standard_library_only(server):
    """The pipeline runs --no-aws in a bare CodeBuild container where nothing is installed: boto3 and the manifest
    logic are imported only when the AWS checks run."""
    probe = (
        "import runpy, sys\n"
        "before = set(sys.modules)\n"
        f"sys.argv = ['verify.py', '--env', 'dev', '--url', 'api={server}/arm', *{FAST!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "loaded = {name.split('.')[0] for name in set(sys.modules) - before} - set(sys.stdlib_module_names)\n"
        "print(sorted(loaded))\n"
    )
    result = run(["python3", "-I", "-c", probe])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_its_top_level_imports_are_the_standard_library():
    """boto3 and botocore may only be imported inside the functions the AWS checks call."""
    tree = ast.parse(SCRIPT.read_text())
    imported = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    imported |= {
        node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names
    lazy = {
        alias.name.split(".")[0] if isinstance(node, ast.Import) else node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and node not in tree.body and getattr(node, "level", 0) == 0
        for alias in node.names
    }
    assert lazy - set(sys.stdlib_module_names) == {"boto3", "botocore"}
