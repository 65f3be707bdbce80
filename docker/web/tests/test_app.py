"""The web app's routes through FastAPI's TestClient, and the JSON shape of its log lines."""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from web_service import app as web

# sample: the web sample service's own behaviour, tested from its folder.
pytestmark = pytest.mark.sample


@pytest.fixture
def client() -> Iterator[TestClient]:
    # As a context manager, so the app's lifespan (its start-up log line) runs as under uvicorn.
    with TestClient(web.app) as test_client:
        yield test_client


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("machine", ["aarch64", "x86_64"])
def test_arch_reports_the_machine_it_runs_on(client: TestClient, monkeypatch: pytest.MonkeyPatch, machine: str) -> None:
    monkeypatch.setattr(web.platform, "machine", lambda: machine)
    response = client.get("/arch")
    assert (response.status_code, response.json()) == (200, {"machine": machine})


def test_arch_unpatched_is_the_hosts_real_machine(client: TestClient) -> None:
    assert client.get("/arch").json() == {"machine": platform.machine()}


@pytest.mark.parametrize("path", ["/nope", "/docs", "/openapi.json", "/redoc"])
def test_unknown_routes_are_not_found(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_wrong_method_is_not_served(client: TestClient) -> None:
    assert client.post("/health").status_code == 405


def record(name: str, msg: str, args: tuple) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, "app.py", 7, msg, args, None, func="handle")


def test_a_log_record_is_one_json_line_with_the_apis_keys() -> None:
    line = web.JsonFormatter().format(record("web_service", "started on %s", ("aarch64",)))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "started on aarch64"
    assert (entry["level"], entry["service"], entry["location"]) == ("INFO", "web", "handle:7")
    assert entry["timestamp"].endswith("+00:00")


def test_an_access_log_record_carries_its_request_as_fields() -> None:
    args = ("10.0.0.1:5000", "GET", "/health", "1.1", 200)
    entry = json.loads(web.JsonFormatter().format(record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', args)))
    assert entry["message"] == '10.0.0.1:5000 - "GET /health HTTP/1.1" 200'
    assert entry["http"] == {
        "client": "10.0.0.1:5000",
        "method": "GET",
        "path": "/health",
        "http_version": "1.1",
        "status": 200,
    }
