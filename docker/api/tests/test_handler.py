"""The api handler's routes, called with HTTP API (payload v2) events as Lambda delivers them, and its Powertools
wiring: EMF metrics on stdout, X-Ray subsegments and annotations, the request's correlation id in the logger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from api_service import handler

# sample: the api sample service's own behaviour, tested from its folder.
pytestmark = pytest.mark.sample


@dataclass
class FakeContext:
    function_name: str = "api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id: str = "req-1"


def http_event(method: str, path: str, request_id: str = "req-1") -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "example.com"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def call(method: str, path: str) -> tuple[int, dict]:
    response = handler.lambda_handler(http_event(method, path), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def emf_blobs(stdout: str) -> list[dict]:
    """The EMF documents Powertools printed: JSON lines with an `_aws` key, as CloudWatch Logs reads them."""
    lines = (line for line in stdout.splitlines() if line.startswith("{"))
    return [blob for blob in map(json.loads, lines) if "_aws" in blob]


def metric_names(blob: dict) -> set[str]:
    return {metric["Name"] for directive in blob["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}


def blob_with(metric: str, stdout: str) -> dict:
    (blob,) = [blob for blob in emf_blobs(stdout) if metric in metric_names(blob)]
    return blob


def test_health_is_ok():
    assert call("GET", "/health") == (200, {"status": "ok"})


@pytest.mark.parametrize("machine", ["aarch64", "x86_64"])
def test_arch_reports_the_machine_it_runs_on(monkeypatch, machine):
    monkeypatch.setattr(handler.platform, "machine", lambda: machine)
    assert call("GET", "/arch") == (200, {"machine": machine})


def test_unknown_route_is_not_found():
    assert call("GET", "/nope") == (404, {"statusCode": 404, "message": "Not found"})


def test_wrong_method_is_not_served():
    status, _ = call("POST", "/health")
    assert status in (404, 405)


def test_arch_publishes_one_arch_request_as_emf_in_the_configured_namespace(
    capsys, monkeypatch, metrics_namespace, service_name
):
    monkeypatch.setattr(handler.platform, "machine", lambda: "aarch64")
    call("GET", "/arch")
    blob = blob_with("ArchRequests", capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics_namespace
    assert {"Name": "ArchRequests", "Unit": "Count"} in directive["Metrics"]
    assert directive["Dimensions"] == [["service"]]
    assert blob["service"] == service_name
    assert blob["ArchRequests"] in (1, 1.0, [1.0])


@pytest.mark.parametrize(
    ("method", "path", "metric"),
    [("GET", "/health", "HealthRequests"), ("GET", "/nope", "NotFoundRequests")],
)
def test_every_request_publishes_its_own_metric(capsys, method, path, metric):
    call(method, path)
    (blob,) = [blob for blob in emf_blobs(capsys.readouterr().out) if "ColdStart" not in metric_names(blob)]
    assert metric_names(blob) == {metric}


def test_a_cold_start_publishes_the_cold_start_metric_once(capsys, metrics_namespace):
    cold_start.reset_cold_start_flag()
    call("GET", "/health")
    call("GET", "/health")
    blobs = [blob for blob in emf_blobs(capsys.readouterr().out) if "ColdStart" in metric_names(blob)]
    assert len(blobs) == 1
    assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == metrics_namespace
    assert blobs[0]["function_name"] == FakeContext.function_name


def test_the_logger_carries_the_http_apis_request_id_as_correlation_id():
    handler.lambda_handler(http_event("GET", "/health", request_id="corr-42"), FakeContext())
    assert handler.logger.get_correlation_id() == "corr-42"
    assert handler.logger.get_current_keys()["function_request_id"] == FakeContext.aws_request_id


@dataclass
class FakeSubsegment:
    name: str
    annotations: dict[str, Any] = field(default_factory=dict)

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass


@dataclass
class FakeXRay:
    """Stands in for the X-Ray recorder: records the subsegments Tracer opens and the annotations it puts."""

    subsegments: list[FakeSubsegment] = field(default_factory=list)

    @contextmanager
    def in_subsegment(self, name: str, **_: Any) -> Iterator[FakeSubsegment]:
        self.subsegments.append(FakeSubsegment(name))
        yield self.subsegments[-1]

    def put_annotation(self, key: str, value: Any) -> None:
        # Tracer.put_annotation goes to the innermost open subsegment, here the route's.
        self.subsegments[-1].put_annotation(key, value)


def test_the_handler_and_the_route_are_traced_and_the_route_annotates_the_machine(monkeypatch, service_name):
    xray = FakeXRay()
    monkeypatch.setattr(handler.tracer, "provider", xray)
    monkeypatch.setattr(handler.tracer, "disabled", False)
    monkeypatch.setattr(handler.platform, "machine", lambda: "aarch64")
    call("GET", "/arch")
    traced = {subsegment.name: subsegment.annotations for subsegment in xray.subsegments}
    assert traced.keys() == {"## lambda_handler", "## api_service.handler.arch"}
    assert traced["## lambda_handler"]["Service"] == service_name
    assert "ColdStart" in traced["## lambda_handler"]
    assert traced["## api_service.handler.arch"] == {"machine": "aarch64"}


@pytest.fixture
def under_prefix(monkeypatch) -> Iterator[str]:
    """The handler as the shared HTTP API runs it: with BASE_PATH, read at import (Lambda's init phase)."""
    import importlib

    monkeypatch.setenv("BASE_PATH", "/api")
    importlib.reload(handler)
    yield "/api"
    monkeypatch.delenv("BASE_PATH")
    importlib.reload(handler)


def test_under_its_base_path_the_routes_answer_with_and_without_the_prefix(under_prefix):
    assert call("GET", f"{under_prefix}/arch")[0] == 200
    assert call("GET", f"{under_prefix}/health") == (200, {"status": "ok"})
    assert call("GET", "/health")[0] == 200
    assert call("GET", "/other/arch")[0] == 404


def test_without_a_base_path_a_prefixed_request_is_not_found():
    assert call("GET", "/api/arch")[0] == 404
