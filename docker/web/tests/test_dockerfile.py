"""The web Dockerfile's properties, read from its instructions, and its CMD and HEALTHCHECK run as processes here."""

from __future__ import annotations

import json
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

# sample: the web sample service's own behaviour, tested from its folder.
pytestmark = pytest.mark.sample

SERVICE_DIR = Path(__file__).resolve().parents[1]
CMD = ["uvicorn", "web_service.app:app", "--host", "0.0.0.0", "--port", "8080"]
USER = "10001:10001"
HEALTH_URL = "http://127.0.0.1:8080/health"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped, as Docker reads them."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    return instructions


def split_stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """One list per FROM, each starting with it (global ARGs before the first FROM are left out)."""
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def args_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [instruction.args for instruction in stage if instruction.keyword == keyword]


INSTRUCTIONS = parse((SERVICE_DIR / "Dockerfile").read_text())
STAGES = split_stages(INSTRUCTIONS)
BUILDER, RUNTIME = STAGES[0], STAGES[-1]


def healthcheck_command() -> list[str]:
    (healthcheck,) = args_of(RUNTIME, "HEALTHCHECK")
    _, _, command = healthcheck.partition("CMD ")
    return json.loads(command)


def test_it_is_multi_stage_and_the_runtime_takes_only_the_venv_from_the_builder() -> None:
    assert len(STAGES) >= 2
    builder_name = BUILDER[0].args.split()[-1]
    assert re.fullmatch(r"\S+ AS \w+", BUILDER[0].args, re.IGNORECASE), "the builder stage must be named"
    copies_from_builder = [args for args in args_of(RUNTIME, "COPY") if args.startswith(f"--from={builder_name} ")]
    assert copies_from_builder == [f"--from={builder_name} /opt/venv /opt/venv"]
    assert any("pip install" in args for args in args_of(BUILDER, "RUN"))
    # No pip in the runtime stage: its caches and build tools would land in the image.
    assert not [args for args in args_of(RUNTIME, "RUN") if "pip" in args]


def test_every_base_image_comes_from_ecr_public() -> None:
    for stage in STAGES:
        image = stage[0].args.split()[0]
        assert image.startswith("public.ecr.aws/"), f"FROM {stage[0].args}: Docker Hub is rate-limited on CodeBuild"


def test_nothing_pins_a_platform_or_hints_at_x86() -> None:
    for instruction in INSTRUCTIONS:
        assert "--platform" not in instruction.args, f"{instruction.keyword} {instruction.args}"
        assert not re.search(r"amd64|x86|i[3-6]86", instruction.args), f"{instruction.keyword} {instruction.args}"


def test_it_ends_as_a_fixed_numeric_non_root_user() -> None:
    users = args_of(RUNTIME, "USER")
    assert users, "the runtime stage must set USER"
    assert users[-1] == USER
    uid, gid = (int(part) for part in users[-1].split(":"))
    assert uid != 0 and gid != 0
    # The user exists in the image with exactly that UID/GID.
    created = " ".join(args_of(RUNTIME, "RUN"))
    assert f"--uid {uid}" in created and f"--gid {gid}" in created
    # Nothing runs as root after the switch.
    last_user = max(i for i, instruction in enumerate(RUNTIME) if instruction.keyword == "USER")
    assert not [instruction for instruction in RUNTIME[last_user:] if instruction.keyword == "RUN"]


def test_it_exposes_8080_and_serves_uvicorn_from_the_venv_there() -> None:
    assert args_of(RUNTIME, "EXPOSE") == ["8080"]
    (cmd,) = args_of(RUNTIME, "CMD")
    assert json.loads(cmd) == CMD
    env = " ".join(args_of(RUNTIME, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    # `uvicorn` and `python` resolve to the venv's, and uvicorn finds web_service/ in its working directory.
    assert re.search(r'PATH="/opt/venv/bin:', env)
    assert args_of(RUNTIME, "WORKDIR") == ["/app"]
    assert "web_service/ /app/web_service/" in args_of(RUNTIME, "COPY")


def test_the_healthcheck_asks_health_with_pythons_urllib() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2] and HEALTH_URL in command[2]


def test_tests_and_caches_stay_out_of_the_build_context() -> None:
    ignored = (SERVICE_DIR / ".dockerignore").read_text().splitlines()
    assert {"tests", "**/__pycache__"} <= set(ignored)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_healthcheck(port: int) -> int:
    """The image's HEALTHCHECK with this test's port: its exit code, as Docker and ECS read it."""
    _, flag, code = healthcheck_command()
    return subprocess.run([sys.executable, flag, code.replace("8080", str(port))], capture_output=True).returncode


@dataclass
class Server:
    port: int
    process: subprocess.Popen[str]

    def stop(self) -> tuple[str, str]:
        """Stop it as ECS does (SIGTERM) and return what it printed: stdout, stderr."""
        self.process.terminate()
        return self.process.communicate(timeout=10)


@pytest.fixture
def server() -> Iterator[Server]:
    """The image's CMD with its host and port swapped for this test's, run from the service folder as from /app."""
    port = free_port()
    uvicorn = shutil.which("uvicorn", path=str(Path(sys.executable).parent)) or "uvicorn"
    argv = [uvicorn, *CMD[1:]]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    process = subprocess.Popen(argv, cwd=SERVICE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = Server(port, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"uvicorn did not start: {started.stop()}") from None
                time.sleep(0.1)
        yield started
    finally:
        if process.poll() is None:
            started.stop()


def test_the_cmd_serves_the_routes_and_logs_json_lines_on_stdout(server: Server) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/arch", timeout=5) as response:
        assert json.load(response) == {"machine": platform.machine()}
    stdout, stderr = server.stop()
    assert stderr == "", "every log line goes to stdout"
    entries = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert {entry["service"] for entry in entries} == {"web"}
    assert any(entry["message"] == f"web service started on {platform.machine()}" for entry in entries)
    arch_requests = [entry["http"] for entry in entries if entry.get("http", {}).get("path") == "/arch"]
    assert [(request["method"], request["status"]) for request in arch_requests] == [("GET", 200)]


def test_the_healthcheck_passes_on_a_healthy_server(server: Server) -> None:
    assert run_healthcheck(server.port) == 0


def test_the_healthcheck_fails_when_nothing_listens() -> None:
    assert run_healthcheck(free_port()) != 0


def test_the_healthcheck_fails_when_health_is_not_ok() -> None:
    class Unhealthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    with HTTPServer(("127.0.0.1", 0), Unhealthy) as unhealthy:
        thread = threading.Thread(target=unhealthy.serve_forever, daemon=True)
        thread.start()
        try:
            assert run_healthcheck(unhealthy.server_address[1]) != 0
        finally:
            unhealthy.shutdown()


def test_tmp_is_a_declared_volume_so_a_read_only_task_can_still_write_there() -> None:
    # ECS and Kubernetes run the image with a read-only root; a declared volume keeps /tmp's 1777 mode.
    assert json.loads(args_of(RUNTIME, "VOLUME")[0]) == ["/tmp"]
