"""The api handler's routes, called with HTTP API (payload v2) events as Lambda delivers them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from api_service import handler


@dataclass
class FakeContext:
    function_name: str = "api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id: str = "req-1"


def http_event(method: str, path: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "example.com"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def call(method: str, path: str) -> tuple[int, dict]:
    response = handler.lambda_handler(http_event(method, path), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_health_is_ok():
    assert call("GET", "/health") == (200, {"status": "ok"})


@pytest.mark.parametrize("machine", ["aarch64", "x86_64"])
def test_arch_reports_the_machine_it_runs_on(monkeypatch, machine):
    monkeypatch.setattr(handler.platform, "machine", lambda: machine)
    assert call("GET", "/arch") == (200, {"machine": machine})


def test_unknown_route_is_not_found():
    status, _ = call("GET", "/nope")
    assert status == 404


def test_wrong_method_is_not_served():
    status, _ = call("POST", "/health")
    assert status in (404, 405)
