"""Lambda entry point of the api service: `GET /health` and `GET /arch` over an HTTP API (payload v2).

Powertools in full: structured logs with the request's correlation id, X-Ray traces and EMF metrics. The
service name (`POWERTOOLS_SERVICE_NAME`) and metrics namespace (`POWERTOOLS_METRICS_NAMESPACE`) come from
the function's environment, which the infrastructure sets.
"""

from __future__ import annotations

import os
import platform
from http import HTTPStatus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# The path prefix the environment's shared HTTP API routes this service under (`/api`), set by the infrastructure:
# `/api/arch` answers as `/arch`. Unset: the routes answer at the root.
BASE_PATH = os.environ.get("BASE_PATH", "")
app = APIGatewayHttpResolver(strip_prefixes=[BASE_PATH] if BASE_PATH else [])


@app.get("/health")
@tracer.capture_method
def health() -> dict[str, str]:
    metrics.add_metric(name="HealthRequests", unit=MetricUnit.Count, value=1)
    return {"status": "ok"}


@app.get("/arch")
@tracer.capture_method
def arch() -> dict[str, str]:
    machine = platform.machine()
    # Lets X-Ray group traces by architecture, so an x86 straggler would stand out.
    tracer.put_annotation(key="machine", value=machine)
    metrics.add_metric(name="ArchRequests", unit=MetricUnit.Count, value=1)
    # `aarch64` on Graviton; the verification command reads this.
    return {"machine": machine}


@app.not_found
@tracer.capture_method
def not_found(_: NotFoundError) -> Response:
    # Counted too, so every request publishes a metric (scanners show up) and none logs "no metrics" warnings.
    metrics.add_metric(name="NotFoundRequests", unit=MetricUnit.Count, value=1)
    body = {"statusCode": HTTPStatus.NOT_FOUND.value, "message": "Not found"}
    return Response(status_code=HTTPStatus.NOT_FOUND.value, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
